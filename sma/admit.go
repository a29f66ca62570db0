package sma

import (
	"net/netip"
	"slices"
	"sync"
)

// admission counts the calls in progress per application and per source
// IP, for Config's caps.
type admission struct {
	mu       sync.Mutex
	perApp   map[string]int
	perSrc   map[netip.Addr]int
	prefixes map[*Rule][]netip.Prefix // parsed AllowedSources, per rule (nil key: the global list)
}

// Admit decides whether a call from src may run rule's application: 403
// when src is not in the rule's (else the global) allowlist, 486 when the
// application or the source is at its cap. When admitted (code 0),
// release must be called once the call has ended.
func (rt *Runtime) Admit(rule *Rule, src netip.Addr) (release func(), code int) {
	a := &rt.admit
	src = src.Unmap()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.prefixes == nil {
		a.prefixes = map[*Rule][]netip.Prefix{}
	}
	if a.perApp == nil {
		a.perApp, a.perSrc = map[string]int{}, map[netip.Addr]int{}
	}
	c := rt.config()
	list, cidrs := rule.AllowedSources, rule
	if len(list) == 0 {
		list, cidrs = c.AllowedSources, nil
	}
	if len(list) > 0 {
		ps, ok := a.prefixes[cidrs]
		if !ok {
			ps, _ = parseCIDRs(list) // validated with the config
			a.prefixes[cidrs] = ps
		}
		if !slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(src) }) {
			return nil, 403
		}
	}
	if c.MaxCallsPerApplication > 0 && a.perApp[rule.Application] >= c.MaxCallsPerApplication ||
		c.MaxCallsPerSource > 0 && a.perSrc[src] >= c.MaxCallsPerSource {
		return nil, 486
	}
	a.perApp[rule.Application]++
	a.perSrc[src]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.perApp[rule.Application]--; a.perApp[rule.Application] <= 0 {
				delete(a.perApp, rule.Application)
			}
			if a.perSrc[src]--; a.perSrc[src] <= 0 {
				delete(a.perSrc, src)
			}
		})
	}, 0
}
