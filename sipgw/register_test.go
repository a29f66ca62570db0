package sipgw

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func TestRegisterExpiry(t *testing.T) {
	for req, want := range map[int]int{-1: 3600, 0: 0, 1: 60, 59: 60, 600: 600, 3600: 3600, 86400: 3600} {
		if got := registerExpiry(req); got != want {
			t.Errorf("registerExpiry(%d) = %d, want %d", req, got, want)
		}
	}
}

// TestRegisterAnswered: a softphone's REGISTER gets 200 with its Contact
// and a bounded expiry (nothing stored); a removal gets 200 without one;
// the gateway's Allow names REGISTER.
func TestRegisterAnswered(t *testing.T) {
	gw := gatewayWith(t, Config{}, Params{Auth: newTestAuth(), Conference: newConference(t)})
	udp, _, _ := gw.Addrs()
	u := newUAC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	register := func(contact, expires string) *sip.Response {
		t.Helper()
		req := sip.NewRequest(sip.REGISTER, inviteURI(udp, "udp", dialIn, ""))
		req.AppendHeader(sip.NewHeader("Contact", contact))
		if expires != "" {
			req.AppendHeader(sip.NewHeader("Expires", expires))
		}
		res, err := u.cli.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := register("<sip:alice@127.0.0.1:5099>", "86400")
	c := res.Contact()
	if res.StatusCode != 200 || c == nil || c.Address.User != "alice" || c.Params.GetOr("expires", "") != "3600" {
		t.Fatalf("REGISTER: %v", res)
	}
	if a := res.GetHeader("Allow"); a == nil || a.Value() != allowMethods {
		t.Fatalf("Allow = %v", a)
	}
	res = register("<sip:alice@127.0.0.1:5099>;expires=30", "")
	if c := res.Contact(); res.StatusCode != 200 || c == nil || c.Params.GetOr("expires", "") != "60" {
		t.Fatalf("REGISTER with expires=30: %v", res)
	}
	res = register("*", "0")
	if res.StatusCode != 200 || res.Contact() != nil {
		t.Fatalf("REGISTER removal: %v", res)
	}
	closeAndCheck(t, u, gw)
}
