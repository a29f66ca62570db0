package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/confab-media/confab/signaling/store"
	"github.com/confab-media/confab/sma"
)

// Store kinds of the objects kept here.
const (
	kindApplication = "sip-media-application"
	kindRule        = "sip-rule"
)

// Bounds on what the API keeps.
const (
	maxApplications = 100
	maxRules        = 100
)

// Params are the registry's dependencies.
type Params struct {
	// Store keeps what the API creates (it must implement store.Objects).
	Store store.Store
	// Runtime gets the merged applications and rules after every change.
	Runtime *sma.Runtime
	// Static are the configuration file's applications and rules: listed,
	// never changed through the API.
	Static sma.Config
	// AccountID and Region build ARNs and default AwsRegion.
	AccountID, Region string
	// Secret signs the requests of API-created HTTP handlers.
	Secret string
	// CheckLambda, if set, vets a Lambda ARN (an endpoint must serve it).
	CheckLambda func(arn string) error
	Now         func() time.Time
	Log         *slog.Logger
}

// Registry holds the API-managed applications and rules.
type Registry struct {
	p Params

	mu    sync.Mutex // guards apps and rules, and orders writes
	apps  map[string]*SipMediaApplication
	rules map[string]*SipRule

	dialer Dialer // SetDialer's; nil: CreateSipMediaApplicationCall fails
}

// New loads what the store holds and pushes the merged configuration to
// the runtime.
func New(ctx context.Context, p Params) (*Registry, error) {
	if _, ok := p.Store.(store.Objects); !ok {
		return nil, errors.New("voice: the store does not keep objects")
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{p: p}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload re-reads the store (in a cluster, another node may have changed
// it) and pushes the merged configuration to the runtime.
func (r *Registry) Reload(ctx context.Context) error {
	objs := r.p.Store.(store.Objects)
	appObjs, err := objs.LoadObjects(ctx, kindApplication)
	if err != nil {
		return err
	}
	ruleObjs, err := objs.LoadObjects(ctx, kindRule)
	if err != nil {
		return err
	}
	apps, rules := map[string]*SipMediaApplication{}, map[string]*SipRule{}
	for _, o := range appObjs {
		var a SipMediaApplication
		if json.Unmarshal(o.Data, &a) == nil {
			apps[o.ID] = &a
		}
	}
	for _, o := range ruleObjs {
		var s SipRule
		if json.Unmarshal(o.Data, &s) == nil && len(s.TargetApplications) > 0 {
			rules[o.ID] = &s
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.apps, r.rules = apps, rules
	r.publish()
	return nil
}

// publish merges the file's and the API's applications and rules into
// the runtime (r.mu held).
func (r *Registry) publish() {
	if r.p.Runtime == nil {
		return
	}
	c := r.p.Static
	c.Applications = append([]sma.Application(nil), c.Applications...)
	c.Rules = append([]sma.Rule(nil), c.Rules...)
	for _, a := range sortedApps(r.apps) {
		app := sma.Application{ID: a.SipMediaApplicationID, Name: a.Name, AwsRegion: a.AwsRegion}
		if ep := a.Endpoints[0].LambdaArn; strings.HasPrefix(ep, "http") {
			app.Endpoint, app.Secret = ep, r.p.Secret
		} else {
			app.LambdaARN = ep
		}
		c.Applications = append(c.Applications, app)
	}
	for _, s := range sortedRules(r.rules) {
		c.Rules = append(c.Rules, sma.Rule{ID: s.SipRuleID, Name: s.Name, TriggerType: s.TriggerType,
			TriggerValue: s.TriggerValue, Application: s.target(), Disabled: s.Disabled})
	}
	r.p.Runtime.SetConfig(c)
}

// commit writes ops and waits until they are durable.
func (r *Registry) commit(ops ...store.Op) error {
	if err := <-r.p.Store.Submit(ops...); err != nil {
		r.p.Log.Error("voice: store write failed", "err", err)
		return errStore
	}
	return nil
}

func (r *Registry) staticApp(id string) bool {
	for _, a := range r.p.Static.Applications {
		if a.ID == id {
			return true
		}
	}
	return false
}

func (r *Registry) staticRule(id string) bool {
	for _, s := range r.p.Static.Rules {
		if s.ID == id {
			return true
		}
	}
	return false
}

// triggerTaken reports whether another rule (file or API) has the trigger.
func (r *Registry) triggerTaken(typ, value, except string) bool {
	for _, s := range r.p.Static.Rules {
		if s.TriggerType == typ && strings.EqualFold(s.TriggerValue, value) {
			return true
		}
	}
	for id, s := range r.rules {
		if id != except && s.TriggerType == typ && strings.EqualFold(s.TriggerValue, value) {
			return true
		}
	}
	return false
}

// fromStatic renders a file-configured application as the API shows it.
func (r *Registry) fromStatic(a sma.Application) *SipMediaApplication {
	ep := a.Endpoint
	if a.LambdaARN != "" {
		ep = a.LambdaARN
	}
	region := a.AwsRegion
	if region == "" {
		region = r.p.Region
	}
	return &SipMediaApplication{SipMediaApplicationID: a.ID, SipMediaApplicationArn: r.arn(region, "sma", a.ID), AwsRegion: region,
		Name: a.Name, Endpoints: []Endpoint{{LambdaArn: ep}}}
}

func (r *Registry) ruleFromStatic(s sma.Rule) *SipRule {
	return &SipRule{SipRuleID: s.ID, Name: s.Name, Disabled: s.Disabled, TriggerType: s.TriggerType, TriggerValue: s.TriggerValue,
		TargetApplications: []TargetApplication{{SipMediaApplicationID: s.Application, Priority: 1, AwsRegion: r.p.Region}}}
}

func (r *Registry) arn(region, kind, id string) string {
	return fmt.Sprintf("arn:aws:chime:%s:%s:%s/%s", region, r.p.AccountID, kind, id)
}

func sortedApps(m map[string]*SipMediaApplication) []*SipMediaApplication {
	out := make([]*SipMediaApplication, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SipMediaApplicationID < out[j].SipMediaApplicationID })
	return out
}

func sortedRules(m map[string]*SipRule) []*SipRule {
	out := make([]*SipRule, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SipRuleID < out[j].SipRuleID })
	return out
}
