package netguard

import "sync/atomic"

// Budget is a count of open connections shared by listeners: together they
// hold at most Max. A nil *Budget is unlimited.
type Budget struct {
	max int64
	n   atomic.Int64
}

// NewBudget returns a budget of max connections (at least 1).
func NewBudget(max int) *Budget {
	if max < 1 {
		max = 1
	}
	return &Budget{max: int64(max)}
}

// BudgetFromRlimit sizes a budget from the process's RLIMIT_NOFILE soft
// limit (which the Go runtime raises to the hard limit at start-up), keeping
// reserve descriptors out of it for everything not guarded: the HTTP API and
// WebSockets, UDP media sockets, the store, logs. The budget is never below
// 64.
func BudgetFromRlimit(reserve int) *Budget {
	limit := fileLimit()
	max := limit - reserve
	if max < 64 {
		max = 64
	}
	return NewBudget(max)
}

// Max is the budget's size (0 for a nil budget).
func (b *Budget) Max() int {
	if b == nil {
		return 0
	}
	return int(b.max)
}

// InUse is how many connections hold part of the budget.
func (b *Budget) InUse() int {
	if b == nil {
		return 0
	}
	return int(b.n.Load())
}

func (b *Budget) acquire() bool {
	if b == nil {
		return true
	}
	if b.n.Add(1) > b.max {
		b.n.Add(-1)
		return false
	}
	return true
}

func (b *Budget) release() {
	if b != nil {
		b.n.Add(-1)
	}
}
