package load

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confab-media/confab/signaling/notify"
)

// TestPINHandler: the PIN flow's handler refuses unsigned and malformed
// invocations, answers a new call with ReceiveDigits, and hangs up on
// an unknown PIN or one another call already keyed (counted as failures
// of the run).
func TestPINHandler(t *testing.T) {
	secret := []byte("bench-sma-secret-0123456789")
	a := &pinApp{secret: secret, byPIN: map[string]*pinCaller{}, byTx: map[string]*pinCaller{}}
	a.add("m-1", "u-1")
	post := func(body string, signed bool) (int, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		if signed {
			ts := time.Now().Unix()
			req.Header.Set(notify.HeaderTimestamp, strconv.FormatInt(ts, 10))
			req.Header.Set(notify.HeaderSignature, notify.Sign(secret, ts, []byte(body)))
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, req)
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	newCall := `{"InvocationEventType":"NEW_INBOUND_CALL","CallDetails":{"TransactionId":"t1"}}`
	if code, _ := post(newCall, false); code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d", code)
	}
	if code, _ := post("{not json", true); code != http.StatusBadRequest {
		t.Fatalf("malformed: %d", code)
	}
	code, out := post(newCall, true)
	if code != http.StatusOK || !strings.Contains(toJSON(out), `"Type":"ReceiveDigits"`) || !strings.Contains(toJSON(out), `^\\d{6}#$`) {
		t.Fatalf("NEW_INBOUND_CALL: %d %s", code, toJSON(out))
	}
	code, out = post(`{"InvocationEventType":"DIGITS_RECEIVED","ActionData":{"Type":"ReceiveDigits","ReceivedDigits":"999999#"},"CallDetails":{"TransactionId":"t1"}}`, true)
	if code != http.StatusOK || !strings.Contains(toJSON(out), `"Type":"Hangup"`) {
		t.Fatalf("unknown PIN: %d %s", code, toJSON(out))
	}
	if _, out = post(`{"InvocationEventType":"ACTION_SUCCESSFUL","ActionData":{"Type":"ReceiveDigits"},"CallDetails":{"TransactionId":"t1"}}`, true); out["Actions"] != nil {
		t.Fatalf("ACTION_SUCCESSFUL of ReceiveDigits: %s, want no actions (keep listening)", toJSON(out))
	}
	a.byPIN["000001"].tx = "t0" // keyed by an earlier call
	code, out = post(`{"InvocationEventType":"DIGITS_RECEIVED","ActionData":{"Type":"ReceiveDigits","ReceivedDigits":"000001#"},"CallDetails":{"TransactionId":"t1"}}`, true)
	if code != http.StatusOK || !strings.Contains(toJSON(out), `"Type":"Hangup"`) || a.byTx["t1"] != nil {
		t.Fatalf("a PIN keyed again by another call: %d %s", code, toJSON(out))
	}
	if err := a.failures(); err == nil || !strings.Contains(err.Error(), "2 calls keyed an unknown or already used PIN") {
		t.Fatalf("failures: %v", err)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
