package voice

import (
	"context"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/store"
	"github.com/confab-media/confab/sma"
)

// TestRegistry: what the API creates is routed by the runtime next to the
// file's rules, survives a reload from the store, pages with NextToken,
// and the file's own entries are listed but cannot be changed.
func TestRegistry(t *testing.T) {
	st := store.NewMemory()
	rt := &sma.Runtime{}
	static := sma.Config{
		Applications: []sma.Application{{ID: "file-app", Endpoint: "http://127.0.0.1:9/"}},
		Rules:        []sma.Rule{{ID: "file-rule", TriggerType: sma.TriggerToPhoneNumber, TriggerValue: "+15550100", Application: "file-app"}},
	}
	r, err := New(context.Background(), Params{Store: st, Runtime: rt, Static: static, AccountID: "1", Region: "us-east-1", Secret: "s3cret-s3cret-s3cret", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		a, err := r.createApp(createAppInput{Name: "app", Endpoints: []Endpoint{{LambdaArn: "https://h.example/" + string(rune('a'+i))}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.SipMediaApplicationID)
	}
	s, err := r.createRule(createRuleInput{Name: "r", TriggerType: sma.TriggerRequestURIHostname, TriggerValue: "pbx.example.com",
		TargetApplications: []TargetApplication{{SipMediaApplicationID: ids[2], Priority: 2}, {SipMediaApplicationID: ids[1], Priority: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	rule, app, ok := rt.Route("+15550111", "pbx.example.com")
	if !ok || rule.ID != s.SipRuleID || app.ID != ids[1] || app.Secret != "s3cret-s3cret-s3cret" || app.Endpoint != "https://h.example/b" {
		t.Fatalf("route: %+v %+v %v (want the priority-1 target, signed)", rule, app, ok)
	}
	if _, _, ok := rt.Route("+15550100", "x"); !ok {
		t.Fatal("the file's rule is not routed")
	}
	if _, err := r.createRule(createRuleInput{Name: "dup", TriggerType: sma.TriggerToPhoneNumber, TriggerValue: "+15550100",
		TargetApplications: []TargetApplication{{SipMediaApplicationID: ids[0], Priority: 1}}}); err == nil || err.(*exception).code != "ConflictException" {
		t.Fatalf("a trigger the file's rule has: %v", err)
	}
	if err := r.deleteApp("file-app"); err == nil || err.(*exception).code != "ConflictException" {
		t.Fatalf("deleting the file's application: %v", err)
	}
	list, next, err := r.listApps("2", "")
	if err != nil || len(list) != 2 || list[0].SipMediaApplicationID != "file-app" || next != "2" {
		t.Fatalf("first page %+v next %q %v", list, next, err)
	}
	list, next, _ = r.listApps("2", next)
	if len(list) != 2 || next != "" {
		t.Fatalf("second page %d items, next %q", len(list), next)
	}

	// A fresh registry on the same store (a restart) routes the same.
	rt2 := &sma.Runtime{}
	if _, err := New(context.Background(), Params{Store: st, Runtime: rt2, Static: static, Region: "us-east-1"}); err != nil {
		t.Fatal(err)
	}
	if rule, _, ok := rt2.Route("", "PBX.example.com"); !ok || rule.ID != s.SipRuleID {
		t.Fatal("the API's rule did not survive a reload")
	}
	if err := r.deleteRule(s.SipRuleID); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := rt.Route("", "pbx.example.com"); ok {
		t.Fatal("a deleted rule still routes")
	}
}
