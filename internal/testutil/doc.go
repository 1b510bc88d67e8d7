// Package testutil holds test harnesses shared across packages: building the project's
// binaries once per test process, picking free loopback ports, and running real processes that
// tests can wait on, stop or kill -9. It is imported by tests only.
package testutil
