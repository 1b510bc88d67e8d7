// Command singyeong is wiring only: it turns flags and environment into a server.Config and
// runs a node (bus/server), or uses the client package exactly as any program would. It must
// not be imported, and it imports nothing under kv/.
package main
