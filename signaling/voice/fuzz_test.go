package voice

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/confab-media/confab/signaling/store"
	"github.com/confab-media/confab/sma"
)

// FuzzRequestBodies: any JSON body of the create and update operations
// is decoded and validated without a panic, and whatever is accepted
// leaves the runtime with a configuration that routes.
func FuzzRequestBodies(f *testing.F) {
	f.Add([]byte(`{"AwsRegion":"us-east-1","Name":"a","Endpoints":[{"LambdaArn":"https://h/x"}]}`), []byte(`{"Name":"r","TriggerType":"ToPhoneNumber","TriggerValue":"+15550100","TargetApplications":[{"SipMediaApplicationId":"ID","Priority":1}]}`))
	f.Add([]byte(`{"Endpoints":[{"LambdaArn":"arn:aws:lambda:us-east-1:1:function:f"}],"Name":"\u0000"}`), []byte(`{"TriggerType":"RequestUriHostname","TriggerValue":"a..b","TargetApplications":[]}`))
	f.Add([]byte(`{"Endpoints":null}`), []byte(`{"TargetApplications":[{"Priority":-1}],"Disabled":true}`))
	f.Fuzz(func(t *testing.T, appBody, ruleBody []byte) {
		rt := &sma.Runtime{}
		r, err := New(context.Background(), Params{Store: store.NewMemory(), Runtime: rt, Region: "us-east-1"})
		if err != nil {
			t.Fatal(err)
		}
		var in createAppInput
		if decode(appBody, &in) != nil {
			return
		}
		a, err := r.createApp(in)
		if err != nil {
			return
		}
		b := []byte(string(ruleBody))
		var ri createRuleInput
		if decode(b, &ri) != nil {
			return
		}
		for i := range ri.TargetApplications {
			if ri.TargetApplications[i].SipMediaApplicationID == "ID" {
				ri.TargetApplications[i].SipMediaApplicationID = a.SipMediaApplicationID
			}
		}
		s, err := r.createRule(ri)
		if err != nil {
			return
		}
		if _, _, ok := rt.Route(s.TriggerValue, s.TriggerValue); !ok && !s.Disabled {
			t.Fatalf("an accepted rule does not route: %+v", s)
		}
		_, _ = json.Marshal(s)
	})
}
