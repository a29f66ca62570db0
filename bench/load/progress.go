package load

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progress prints one status line, rewritten in place.
type progress struct {
	w     io.Writer
	total int

	mu     sync.Mutex
	ok     int
	failed int
}

func newProgress(w io.Writer, total int) *progress { return &progress{w: w, total: total} }

func (p *progress) joined(ok bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok {
		p.ok++
	} else {
		p.failed++
	}
	p.printLocked("joining", 0, -1)
}

func (p *progress) tick(left time.Duration, cpu float64) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printLocked("running", left, cpu)
}

func (p *progress) printLocked(phase string, left time.Duration, cpu float64) {
	const width = 30
	n := width * (p.ok + p.failed) / max(1, p.total)
	bar := strings.Repeat("█", n) + strings.Repeat("░", width-n)
	line := fmt.Sprintf("\r%s %s %d/%d joined", phase, bar, p.ok, p.total)
	if p.failed > 0 {
		line += fmt.Sprintf(", %d failed", p.failed)
	}
	if left > 0 {
		line += fmt.Sprintf(", %s left", left.Round(time.Second))
	}
	if cpu >= 0 {
		line += fmt.Sprintf(", server CPU %.0f%%", cpu)
	}
	fmt.Fprint(p.w, line+"   ")
}

func (p *progress) done() {
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
}
