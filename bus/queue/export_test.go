package queue

// TakeChanges exposes the changes a machine's Apply made, to tests that play the store.
func TakeChanges(m *Machine) []Change { return m.takeChanges() }
