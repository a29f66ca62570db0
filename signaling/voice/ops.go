package voice

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/confab-media/confab/internal/ids"
	"github.com/confab-media/confab/signaling/store"
)

type createAppInput struct {
	AwsRegion string
	Name      string
	Endpoints []Endpoint
}

type updateAppInput struct {
	Name      *string
	Endpoints []Endpoint
}

type createRuleInput struct {
	Name               string
	TriggerType        string
	TriggerValue       string
	Disabled           bool
	TargetApplications []TargetApplication
}

type updateRuleInput struct {
	Name               string
	Disabled           *bool
	TargetApplications []TargetApplication
}

func (r *Registry) createApp(in createAppInput) (*SipMediaApplication, error) {
	if in.AwsRegion == "" {
		in.AwsRegion = r.p.Region
	}
	if err := checkRegion(in.AwsRegion); err != nil {
		return nil, err
	}
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	if err := checkEndpoints(in.Endpoints, r.p.CheckLambda); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.apps) >= maxApplications {
		return nil, errLimit
	}
	now := timestamp(r.p.Now())
	id := ids.New()
	a := &SipMediaApplication{SipMediaApplicationID: id, SipMediaApplicationArn: r.arn(in.AwsRegion, "sma", id), AwsRegion: in.AwsRegion,
		Name: in.Name, Endpoints: in.Endpoints[:1], CreatedTimestamp: now, UpdatedTimestamp: now}
	if err := r.putApp(a); err != nil {
		return nil, err
	}
	return a, nil
}

func (r *Registry) putApp(a *SipMediaApplication) error {
	data, _ := json.Marshal(a)
	if err := r.commit(store.PutObject(store.Object{Kind: kindApplication, ID: a.SipMediaApplicationID, Data: data})); err != nil {
		return err
	}
	r.apps[a.SipMediaApplicationID] = a
	r.publish()
	return nil
}

func (r *Registry) getApp(id string) (*SipMediaApplication, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.apps[id]; a != nil {
		return a, nil
	}
	for _, a := range r.p.Static.Applications {
		if a.ID == id {
			return r.fromStatic(a), nil
		}
	}
	return nil, notFound(fmt.Sprintf("SIP media application %s not found", truncate(id, 64)))
}

func (r *Registry) listApps(maxResults, token string) ([]*SipMediaApplication, string, error) {
	r.mu.Lock()
	all := make([]*SipMediaApplication, 0, len(r.apps)+len(r.p.Static.Applications))
	for _, a := range r.p.Static.Applications {
		all = append(all, r.fromStatic(a))
	}
	all = append(all, sortedApps(r.apps)...)
	r.mu.Unlock()
	return page(all, maxResults, token)
}

func (r *Registry) updateApp(id string, in updateAppInput) (*SipMediaApplication, error) {
	if in.Name != nil {
		if err := checkName(*in.Name); err != nil {
			return nil, err
		}
	}
	if in.Endpoints != nil {
		if err := checkEndpoints(in.Endpoints, r.p.CheckLambda); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.apps[id]
	if old == nil {
		if r.staticApp(id) {
			return nil, conflict("SIP media application " + id + " is defined in the configuration file")
		}
		return nil, notFound(fmt.Sprintf("SIP media application %s not found", truncate(id, 64)))
	}
	a := *old
	if in.Name != nil {
		a.Name = *in.Name
	}
	if in.Endpoints != nil {
		a.Endpoints = in.Endpoints[:1]
	}
	a.UpdatedTimestamp = timestamp(r.p.Now())
	if err := r.putApp(&a); err != nil {
		return nil, err
	}
	return &a, nil
}

func (r *Registry) deleteApp(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.apps[id] == nil {
		if r.staticApp(id) {
			return conflict("SIP media application " + id + " is defined in the configuration file")
		}
		return notFound(fmt.Sprintf("SIP media application %s not found", truncate(id, 64)))
	}
	for _, s := range r.rules {
		for _, t := range s.TargetApplications {
			if t.SipMediaApplicationID == id {
				return conflict("SIP media application " + id + " is the target of SIP rule " + s.SipRuleID)
			}
		}
	}
	if err := r.commit(store.DeleteObject(kindApplication, id)); err != nil {
		return err
	}
	delete(r.apps, id)
	r.publish()
	return nil
}

func (r *Registry) createRule(in createRuleInput) (*SipRule, error) {
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	if err := checkTrigger(in.TriggerType, in.TriggerValue); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := checkTargets(in.TargetApplications, r.knownApp); err != nil {
		return nil, err
	}
	if len(r.rules) >= maxRules {
		return nil, errLimit
	}
	if r.triggerTaken(in.TriggerType, in.TriggerValue, "") {
		return nil, conflict(fmt.Sprintf("Another SIP rule has %s %s", in.TriggerType, in.TriggerValue))
	}
	now := timestamp(r.p.Now())
	s := &SipRule{SipRuleID: ids.New(), Name: in.Name, Disabled: in.Disabled, TriggerType: in.TriggerType, TriggerValue: in.TriggerValue,
		TargetApplications: r.withRegions(in.TargetApplications), CreatedTimestamp: now, UpdatedTimestamp: now}
	if err := r.putRule(s); err != nil {
		return nil, err
	}
	return s, nil
}

// knownApp reports whether an application exists (r.mu held).
func (r *Registry) knownApp(id string) bool { return r.apps[id] != nil || r.staticApp(id) }

// withRegions fills each target's AwsRegion from its application.
func (r *Registry) withRegions(ts []TargetApplication) []TargetApplication {
	out := append([]TargetApplication(nil), ts...)
	for i := range out {
		if out[i].AwsRegion == "" {
			if a := r.apps[out[i].SipMediaApplicationID]; a != nil {
				out[i].AwsRegion = a.AwsRegion
			} else {
				out[i].AwsRegion = r.p.Region
			}
		}
	}
	return out
}

func (r *Registry) putRule(s *SipRule) error {
	data, _ := json.Marshal(s)
	if err := r.commit(store.PutObject(store.Object{Kind: kindRule, ID: s.SipRuleID, Data: data})); err != nil {
		return err
	}
	r.rules[s.SipRuleID] = s
	r.publish()
	return nil
}

func (r *Registry) getRule(id string) (*SipRule, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.rules[id]; s != nil {
		return s, nil
	}
	for _, s := range r.p.Static.Rules {
		if s.ID == id {
			return r.ruleFromStatic(s), nil
		}
	}
	return nil, notFound(fmt.Sprintf("SIP rule %s not found", truncate(id, 64)))
}

func (r *Registry) listRules(app, maxResults, token string) ([]*SipRule, string, error) {
	r.mu.Lock()
	var all []*SipRule
	for _, s := range r.p.Static.Rules {
		all = append(all, r.ruleFromStatic(s))
	}
	all = append(all, sortedRules(r.rules)...)
	r.mu.Unlock()
	if app != "" {
		kept := all[:0:0]
		for _, s := range all {
			for _, t := range s.TargetApplications {
				if t.SipMediaApplicationID == app {
					kept = append(kept, s)
					break
				}
			}
		}
		all = kept
	}
	if all == nil {
		all = []*SipRule{}
	}
	return page(all, maxResults, token)
}

func (r *Registry) updateRule(id string, in updateRuleInput) (*SipRule, error) {
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.rules[id]
	if old == nil {
		if r.staticRule(id) {
			return nil, conflict("SIP rule " + id + " is defined in the configuration file")
		}
		return nil, notFound(fmt.Sprintf("SIP rule %s not found", truncate(id, 64)))
	}
	s := *old
	s.Name = in.Name
	if in.Disabled != nil {
		s.Disabled = *in.Disabled
	}
	if in.TargetApplications != nil {
		if err := checkTargets(in.TargetApplications, r.knownApp); err != nil {
			return nil, err
		}
		s.TargetApplications = r.withRegions(in.TargetApplications)
	}
	s.UpdatedTimestamp = timestamp(r.p.Now())
	if err := r.putRule(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (r *Registry) deleteRule(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rules[id] == nil {
		if r.staticRule(id) {
			return conflict("SIP rule " + id + " is defined in the configuration file")
		}
		return notFound(fmt.Sprintf("SIP rule %s not found", truncate(id, 64)))
	}
	if err := r.commit(store.DeleteObject(kindRule, id)); err != nil {
		return err
	}
	delete(r.rules, id)
	r.publish()
	return nil
}

// page returns the items after token (an index), at most maxResults
// (1–100, default 100), and the next token if more remain.
func page[T any](all []T, maxResults, token string) ([]T, string, error) {
	n := 100
	if maxResults != "" {
		v, err := strconv.Atoi(maxResults)
		if err != nil || v < 1 || v > 100 {
			return nil, "", badRequest("max-results must be 1 to 100")
		}
		n = v
	}
	start := 0
	if token != "" {
		v, err := strconv.Atoi(token)
		if err != nil || v < 0 || v > len(all) {
			return nil, "", badRequest("next-token is not valid")
		}
		start = v
	}
	end := min(start+n, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[start:end], next, nil
}
