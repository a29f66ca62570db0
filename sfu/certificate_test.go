package sfu

import (
	"testing"
	"time"

	"github.com/confab-media/confab/internal/fakeclock"
)

// TestDTLSCertificateSharedAndRenewed: every peer gets the same
// certificate until it is within a week of expiring; then a new one.
func TestDTLSCertificateSharedAndRenewed(t *testing.T) {
	clk := fakeclock.New(time.Now())
	c := newDTLSCertificate(clk)
	first, err := c.get()
	if err != nil {
		t.Fatal(err)
	}
	fp := func() string {
		t.Helper()
		cert, err := c.get()
		if err != nil {
			t.Fatal(err)
		}
		f, err := cert.GetFingerprints()
		if err != nil || len(f) == 0 {
			t.Fatalf("fingerprints %v, %v", f, err)
		}
		return f[0].Value
	}
	firstFP := fp()
	clk.Advance(20 * 24 * time.Hour)
	if got := fp(); got != firstFP {
		t.Fatalf("renewed after 20 days (expires %v)", first.Expires())
	}
	clk.Advance(4 * 24 * time.Hour) // 24 days: within a week of a month's validity
	renewed, err := c.get()
	if err != nil {
		t.Fatal(err)
	}
	if got := fp(); got == firstFP || !renewed.Expires().After(first.Expires()) {
		t.Fatalf("not renewed after 24 days: fingerprint %s, expires %v (was %v)", got, renewed.Expires(), first.Expires())
	}
}
