package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/confab-media/confab/sma"
)

// BenchmarkPINDialIns: sipp places 100 concurrent PIN dial-ins (10 meetings
// × 10 callers, 20 calls/s) into `confab serve`: each caller plays PCMA
// audio and keys "1234#" (RFC 4733, sipp's DTMF captures) at the PIN
// prompt; the handler creates the attendee through the Meetings API and
// answers JoinChimeMeeting; the callers stay 8 s in their meetings. It
// reports INVITE→join (the handler's NEW_INBOUND_CALL to its
// ACTION_SUCCESSFUL JoinChimeMeeting, the scripted ~1.5 s of prompt and
// keys included) and digits→join (CreateAttendee and the join) at p50/p99,
// the server's CPU per caller while all are in their meetings, and the
// mixer's late and skipped ticks over the run.
//
//	go test -run '^$' -bench PINDialIns -benchtime 1x ./cmd/confab
func BenchmarkPINDialIns(b *testing.B) {
	const meetings, perMeeting = 10, 10
	calls := meetings * perMeeting
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		b.Fatal("sipp is missing: run `make test-deps`")
	}
	prompts := b.TempDir()
	if err := os.MkdirAll(filepath.Join(prompts, "p"), 0o755); err != nil {
		b.Fatal(err)
	}
	writeWAV(b, filepath.Join(prompts, "p", "pin.wav"), 8000, 1400, 3*time.Second)
	writeWAV(b, filepath.Join(prompts, "p", "bad.wav"), 8000, 300, 300*time.Millisecond)

	var mu sync.Mutex
	begun, digits, joined := map[string]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
	var meetingIDs []string
	var client *chimesdkmeetings.ChimeSDKMeetings
	handler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev sma.Event
		_ = json.Unmarshal(body, &ev)
		now, tx := time.Now(), ev.CallDetails.TransactionID
		reply := func(actions ...string) {
			_, _ = io.WriteString(w, `{"SchemaVersion":"1.0","Actions":[`+strings.Join(actions, ",")+`]}`)
		}
		switch {
		case ev.InvocationEventType == sma.EventNewInboundCall:
			mu.Lock()
			begun[tx] = now
			mu.Unlock()
			reply(`{"Type":"PlayAudioAndGetDigits","Parameters":{"AudioSource":{"Type":"S3","BucketName":"p","Key":"pin.wav"},` +
				`"FailureAudioSource":{"Type":"S3","BucketName":"p","Key":"bad.wav"},"MinNumberOfDigits":4,"MaxNumberOfDigits":8,` +
				`"TerminatorDigits":["#"],"Repeat":2,"RepeatDurationInMilliseconds":5000}}`)
		case ev.InvocationEventType == sma.EventActionSuccessful && ev.ActionData.Type == "PlayAudioAndGetDigits":
			mu.Lock()
			digits[tx] = now
			mu.Unlock()
			n, _ := strconv.Atoi(strings.TrimPrefix(ev.CallDetails.Participants[0].From, "+1206555"))
			a, err := client.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{
				MeetingId: aws.String(meetingIDs[n%meetings]), ExternalUserId: aws.String("caller-" + tx),
			})
			if err != nil {
				b.Errorf("CreateAttendee: %v", err)
				reply(`{"Type":"Hangup","Parameters":{}}`)
				return
			}
			reply(`{"Type":"JoinChimeMeeting","Parameters":{"JoinToken":"` + *a.Attendee.JoinToken + `"}}`)
		case ev.InvocationEventType == sma.EventActionSuccessful && ev.ActionData.Type == "JoinChimeMeeting":
			mu.Lock()
			joined[tx] = now
			mu.Unlock()
			reply()
		case ev.InvocationEventType == sma.EventActionFailed:
			b.Errorf("ACTION_FAILED %s: %s", ev.ActionData.Type, ev.ActionData.ErrorMessage)
			reply()
		default:
			reply()
		}
	}))
	defer handler.Close()
	yaml := noThrottle() + "debug:\n  pprof: true\n" + fmt.Sprintf(`sip:
  applications:
    - {id: pin, endpoint: %q}
  rules:
    - {id: pin, trigger_type: ToPhoneNumber, trigger_value: "+15550100", application: pin}
  prompts_dir: %q
`, handler.URL, prompts)
	s := startServer(b, "", yaml)
	client = s.client(testKeyID, testSecret)
	for i := range meetings {
		cm, err := client.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ClientRequestToken: aws.String(fmt.Sprint("pin-bench-", i)),
			MediaRegion: aws.String("us-east-1"), ExternalMeetingId: aws.String(fmt.Sprint("pin-bench-", i))})
		if err != nil {
			b.Fatal(err)
		}
		meetingIDs = append(meetingIDs, *cm.Meeting.MeetingId)
	}

	dir := b.TempDir()
	dtmf := ""
	for _, d := range []string{"1", "2", "3", "4", "pound"} {
		dtmf += fmt.Sprintf(`<nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_%s.pcap"/></action></nop>
  <pause milliseconds="250"/>
`, d)
	}
	scenario := `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="pin">
  <send retrans="500"><![CDATA[
      INVITE sip:+15550100@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+1206555[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:+15550100@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:+1206555[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=sendrecv
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
      ACK sip:+15550100@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+1206555[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:+15550100@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:+1206555[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <pause milliseconds="500"/>
  ` + dtmf + `
  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>
  <pause milliseconds="8000"/>
  <send retrans="500"><![CDATA[
      BYE sip:+15550100@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:+1206555[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:+15550100@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <recv response="200"/>
</scenario>
`
	file := filepath.Join(dir, "pin.xml")
	if err := os.WriteFile(file, []byte(scenario), 0o644); err != nil {
		b.Fatal(err)
	}
	late0 := scrapeMetric(b, s, "confab_mixer_late_ticks_total") + scrapeMetric(b, s, "confab_mixer_skipped_ticks_total")
	cmd := exec.Command(sipp, "-sf", file, "-m", fmt.Sprint(calls), "-l", fmt.Sprint(calls), "-r", "20", "-nostdin", "-nd",
		"-i", "127.0.0.1", "-p", fmt.Sprint(freeUDP(b)), "-mp", fmt.Sprint(freeUDP(b)), "-t", "u1",
		"-timeout", "60s", "-timeout_error", "-trace_err", sipListener(b, s))
	cmd.Dir = dir
	var sippOut syncBuffer
	cmd.Stdout, cmd.Stderr = &sippOut, &sippOut
	b.ResetTimer()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// Once every caller is in its meeting: the server's CPU over 3 s.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(joined)
		mu.Unlock()
		if n == calls || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cpu0, at0 := processCPU(b, s.cmd.Process.Pid), time.Now()
	if path := os.Getenv("CONFAB_BENCH_PROFILE"); path != "" { // a CPU profile of the steady state
		resp, err := http.Get(s.Endpoint + "/debug/pprof/profile?seconds=3")
		if err == nil {
			prof, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			_ = os.WriteFile(path, prof, 0o644)
		}
	} else {
		time.Sleep(3 * time.Second)
	}
	cpu := processCPU(b, s.cmd.Process.Pid) - cpu0
	wall := time.Since(at0)
	if err := cmd.Wait(); err != nil {
		b.Logf("sipp: %v\n%s", err, tailString(sippOut.String(), 2000))
	}
	b.StopTimer()
	late := scrapeMetric(b, s, "confab_mixer_late_ticks_total") + scrapeMetric(b, s, "confab_mixer_skipped_ticks_total") - late0

	mu.Lock()
	defer mu.Unlock()
	var setup, join []time.Duration
	for tx, t0 := range begun {
		if tj, ok := joined[tx]; ok {
			setup = append(setup, tj.Sub(t0))
			join = append(join, tj.Sub(digits[tx]))
		}
	}
	if len(setup) != calls {
		b.Fatalf("%d of %d callers joined their meeting", len(setup), calls)
	}
	pct := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Milliseconds())
	}
	b.ReportMetric(pct(setup, 0.5), "invite-join-p50-ms")
	b.ReportMetric(pct(setup, 0.99), "invite-join-p99-ms")
	b.ReportMetric(pct(join, 0.5), "digits-join-p50-ms")
	b.ReportMetric(pct(join, 0.99), "digits-join-p99-ms")
	b.ReportMetric(cpu.Seconds()/wall.Seconds()/float64(calls)*1000, "cpu-ms/s/caller")
	b.ReportMetric(late, "late+skipped-ticks")
}

// processCPU is a process's user + system CPU time so far (/proc).
func processCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
