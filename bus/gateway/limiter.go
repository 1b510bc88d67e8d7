package gateway

import (
	"sync"
	"time"
)

// failureLimiter counts wrong passwords per IP in fixed windows, so that guessing the password
// costs a window per AuthFailures guesses.
type failureLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex // guards windows; a leaf lock
	windows map[string]*failureWindow
}

type failureWindow struct {
	start    time.Time
	failures int
}

// maxTrackedIPs bounds the limiter's memory; expired windows are pruned when it is reached.
const maxTrackedIPs = 65536

func newFailureLimiter(max int, window time.Duration) *failureLimiter {
	return &failureLimiter{max: max, window: window, now: time.Now, windows: make(map[string]*failureWindow)}
}

// blocked reports whether ip has used up its failures in the current window, and when the
// window ends.
func (l *failureLimiter) blocked(ip string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.windows[ip]
	if !ok {
		return false, 0
	}
	left := l.window - l.now().Sub(w.start)
	if left <= 0 {
		delete(l.windows, ip)
		return false, 0
	}
	return w.failures >= l.max, left
}

// fail records one wrong password from ip.
func (l *failureLimiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w, ok := l.windows[ip]
	if !ok || now.Sub(w.start) >= l.window {
		if len(l.windows) >= maxTrackedIPs {
			l.prune(now)
		}
		w = &failureWindow{start: now}
		l.windows[ip] = w
	}
	w.failures++
}

func (l *failureLimiter) prune(now time.Time) {
	for ip, w := range l.windows {
		if now.Sub(w.start) >= l.window {
			delete(l.windows, ip)
		}
	}
}
