package cluster

// CloseInbound closes the link node opened to this one (only that direction), as a network
// fault that cuts one connection would.
func (c *Cluster) CloseInbound(node string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[node]
	if m == nil || m.in == nil {
		return false
	}
	m.in.Close()
	return true
}
