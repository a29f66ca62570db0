package load

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAssertions(t *testing.T) {
	as, err := ParseAssertions("mouth_to_ear.p99<150ms, loss.max<1%,join.p50<=2s,joined.value>=100%,server_cpu.mean<80%,jitter.n>0")
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 6 || as[2].Value != 2000 || as[2].Op != "<=" || as[1].Value != 1 {
		t.Fatalf("%+v", as)
	}
	r := &Report{Attendees: 10, Joined: 9,
		MouthToEarMs: Dist{N: 100, P99: 120}, AudioLossPct: Dist{N: 10, Max: 1.5}, JoinLatencyMs: Dist{N: 9, P50: 300}}
	got := r.Check(as)
	want := []bool{true, false, true, false, false, false} // server_cpu and jitter were not measured
	for i, res := range got {
		if res.Passed != want[i] {
			t.Errorf("%s: passed %v (got %v), want %v", res.Text, res.Passed, res.Got, want[i])
		}
	}
	if !got[4].Missing || got[5].Missing {
		t.Errorf("missing: server_cpu %v (want true), jitter.n %v (want false: n is 0)", got[4].Missing, got[5].Missing)
	}
	var b strings.Builder
	if PrintAssertions(&b, got) || !strings.Contains(b.String(), "assert FAIL loss.max<1% (got 1.5%)") ||
		!strings.Contains(b.String(), "assert FAIL server_cpu.mean<80% (got not measured)") {
		t.Fatalf("printed:\n%s", b.String())
	}
	path := filepath.Join(t.TempDir(), "j.xml")
	if err := WriteJUnit(path, r, errors.New("interrupted"), got); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(path)
	if !strings.Contains(string(x), `tests="7" failures="5"`) || !strings.Contains(string(x), `<failure message="interrupted">`) {
		t.Fatalf("JUnit:\n%s", x)
	}
	for _, bad := range []string{"mouth_to_ear<1", "latency.p99<1", "join.p75<1", "join.p99~1", "join.p99<fast", "joined.p50>1", "server_cpu.p99<1"} {
		if _, err := ParseAssertions(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
