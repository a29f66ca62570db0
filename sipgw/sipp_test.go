package sipgw

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Scripted SIP with sipp 3.6 (Debian package sip-tester): exact messages
// for each refusal, CANCEL and re-INVITE hold/unhold, over UDP.

const sippInstall = "apt-get install -y --no-install-recommends sip-tester"

func needSipp(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp is not installed; install it with: %s", sippInstall)
	}
	return path
}

// runSipp runs a scenario (the body of <scenario>) as one call against
// addr and fails the test if sipp reports a failed call.
func runSipp(t *testing.T, addr, name, body string) {
	t.Helper()
	bin := needSipp(t)
	dir := t.TempDir()
	xml := `<?xml version="1.0" encoding="ISO-8859-1" ?>` + "\n<scenario name=\"" + name + "\">\n" + body + "\n</scenario>\n"
	file := filepath.Join(dir, "scenario.xml")
	if err := os.WriteFile(file, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-sf", file, "-m", "1", "-l", "1", "-nostdin", "-nd",
		"-i", "127.0.0.1", "-p", fmt.Sprint(freeUDPPort(t)), "-mp", fmt.Sprint(freeUDPPort(t)),
		"-t", "u1", "-timeout", "20s", "-timeout_error", "-trace_err", "-max_recv_loops", "100", addr)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		logs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
		var errs string
		for _, f := range logs {
			b, _ := os.ReadFile(f)
			errs += string(b)
		}
		t.Fatalf("sipp %s failed: %v\n%s\n%s", name, err, tail(string(out), 3000), errs)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// sippInvite is an INVITE from user from to user to, with extra URI
// parameters, extra header lines and an SDP offering formats.
func sippInvite(to, uriParams, from, headers, formats string, cseq int) string {
	var pts []string
	var maps string
	for _, f := range strings.Split(formats, ",") {
		pt, name, _ := strings.Cut(f, " ")
		pts = append(pts, pt)
		if name != "" {
			maps += "a=rtpmap:" + pt + " " + name + "\n"
		}
	}
	if headers != "" {
		headers += "\n"
	}
	return fmt.Sprintf(`
  <send retrans="500">
    <![CDATA[
      INVITE sip:%[1]s@[remote_ip]:[remote_port]%[2]s SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:%[3]s@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:%[1]s@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: %[6]d INVITE
      Contact: <sip:%[3]s@[local_ip]:[local_port]>
      Max-Forwards: 70
      %[4]sContent-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP %[5]s
      %[7]sa=sendrecv
    ]]>
  </send>
`, to, uriParams, from, headers, strings.Join(pts, " "), cseq, maps)
}

// sippRefused expects a final response with the given code and reason
// phrase (and header lines matching the optional regexps), and ACKs it.
func sippRefused(code int, reason string, headerRegexps ...string) string {
	checks := fmt.Sprintf(`<ereg regexp="^SIP/2.0 %d %s\r" search_in="msg" check_it="true" assign_to="status"/>`, code, reason)
	for i, re := range headerRegexps {
		checks += fmt.Sprintf(`<ereg regexp="%s" search_in="msg" check_it="true" assign_to="h%d"/>`, re, i)
	}
	vars := "status"
	for i := range headerRegexps {
		vars += fmt.Sprintf(",h%d", i)
	}
	return fmt.Sprintf(`
  <recv response="100" optional="true"/>
  <recv response="%d"><action>%s</action></recv>
  <send>
    <![CDATA[
      ACK sip:%s@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <Reference variables="%s"/>
`, code, checks, dialIn, vars)
}

// TestSippRefusals: every refusal has its own status and reason phrase,
// and nothing reaches the Conference.
func TestSippRefusals(t *testing.T) {
	needSipp(t)
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-sipp", "att-sipp")
	gw := newTestGateway(t, Config{}, auth, conf, nil)
	udp, _, _ := gw.Addrs()
	const pcmu = "0 PCMU/8000"
	tok := ";X-chime-join-token=tok-sipp"
	for _, tc := range []struct {
		name                          string
		to, params, from, hdrs, codec string
		code                          int
		reason                        string
		hdrRe                         []string
	}{
		{"no token", dialIn, "", caller, "", pcmu, 403, "Missing join token", nil},
		{"bad token", dialIn, ";X-chime-join-token=forged", caller, "", pcmu, 403, "Invalid join token", nil},
		{"revoked token", dialIn, ";X-chime-join-token=revoked-token", caller, "", pcmu, 403, "Join token revoked", nil},
		{"meeting ended", dialIn, ";X-chime-join-token=ended-token", caller, "", pcmu, 404, "Meeting ended", nil},
		{"unknown number", "+15551234567", tok, caller, "", pcmu, 404, "Unknown dial-in number", nil},
		{"non-E.164 From", dialIn, tok, "alice", "", pcmu, 403, "Caller ID is not E.164", nil},
		{"100rel required", dialIn, tok, caller, "Require: 100rel", pcmu, 420, "Bad Extension 100rel",
			[]string{`Unsupported: 100rel`}},
		{"no common codec", dialIn, tok, caller, "", "18 G729/8000,3 GSM/8000", 488, "No acceptable codec", nil},
		{"session interval too small", dialIn, tok, caller, "Supported: timer\nSession-Expires: 30", pcmu, 422,
			"Session Interval Too Small", []string{`Min-SE: 90`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runSipp(t, udp.String(), strings.ReplaceAll(tc.name, " ", "_"),
				sippInvite(tc.to, tc.params, tc.from, tc.hdrs, tc.codec, 1)+sippRefused(tc.code, tc.reason, tc.hdrRe...))
		})
	}
	if n := conf.joined.Load(); n != 0 {
		t.Errorf("%d refused calls reached the Conference", n)
	}
	closeAndCheck(t, nil, gw)
}

// TestSippCancel: a CANCEL while the INVITE is pending gets 200, the
// INVITE 487, and the leg that JoinPhone returns afterwards is left.
func TestSippCancel(t *testing.T) {
	conf := newConference(t)
	gate := make(chan struct{})
	conf.gate = gate
	auth := newTestAuth()
	auth.add("tok-cancel", "att-cancel")
	gw := newTestGateway(t, Config{}, auth, conf, nil)
	udp, _, _ := gw.Addrs()
	scenario := sippInvite(dialIn, ";X-chime-join-token=tok-cancel", caller, "", "0 PCMU/8000", 1) + `
  <recv response="100"/>
  <send>
    <![CDATA[
      CANCEL sip:` + dialIn + `@[remote_ip]:[remote_port];X-chime-join-token=tok-cancel SIP/2.0
      [last_Via:]
      [last_From:]
      To: <sip:` + dialIn + `@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
  <recv response="487"/>
  <send>
    <![CDATA[
      ACK sip:` + dialIn + `@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      [last_From:]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
`
	runSipp(t, udp.String(), "cancel", scenario)
	close(gate) // JoinPhone returns now; the gateway must leave at once
	leg := conf.nextJoin(t)
	leg.waitLeft(t, 5*time.Second)
	if n := gw.activeCalls(); n != 0 {
		t.Errorf("%d calls active after CANCEL", n)
	}
	closeAndCheck(t, nil, gw)
}

// sippInDialog is an in-dialog request (re-INVITE with SDP, or BYE).
func sippInDialog(method string, cseq int, sdpVersion int, dir string) string {
	body, ctype := "", ""
	if method == "INVITE" {
		ctype = "Content-Type: application/sdp\n      "
		body = fmt.Sprintf(`
      v=0
      o=sipp 1 %d IN IP4 [local_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=%s`, sdpVersion, dir)
	}
	return fmt.Sprintf(`
  <send retrans="500">
    <![CDATA[
      %[1]s [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:%[2]s@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:%[3]s@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %[4]d %[1]s
      Contact: <sip:%[2]s@[local_ip]:[local_port]>
      Max-Forwards: 70
      %[5]sContent-Length: [len]
%[6]s
    ]]>
  </send>
`, method, caller, dialIn, cseq, ctype, body)
}

// sippAck2xx ACKs a 2xx (a new transaction).
func sippAck2xx(cseq int) string {
	return fmt.Sprintf(`
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:%s@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:%s@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %d ACK
      Contact: <sip:%s@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
`, caller, dialIn, cseq, caller)
}

// sipp200 expects a 200 whose body matches re (if set).
func sipp200(re string) string {
	if re == "" {
		return `  <recv response="200" rrs="true"/>` + "\n"
	}
	return fmt.Sprintf(`  <recv response="200" rrs="true"><action><ereg regexp="%s" search_in="body" check_it="true" assign_to="b"/></action></recv>
  <Reference variables="b"/>
`, re)
}

// TestSippReinviteHold: a call is put on hold with a=sendonly (the answer
// says recvonly and the leg is muted), resumed with a=sendrecv (unmuted),
// and hung up by the caller.
func TestSippReinviteHold(t *testing.T) {
	conf := newConference(t)
	auth := newTestAuth()
	auth.add("tok-hold", "att-hold")
	gw := newTestGateway(t, Config{}, auth, conf, nil)
	udp, _, _ := gw.Addrs()
	scenario := sippInvite(dialIn, ";X-chime-join-token=tok-hold", caller, "", "0 PCMU/8000", 1) +
		`  <recv response="100" optional="true"/>` + "\n" +
		sipp200("a=sendrecv") + sippAck2xx(1) +
		`  <pause milliseconds="200"/>` + "\n" +
		sippInDialog("INVITE", 2, 2, "sendonly") +
		`  <recv response="100" optional="true"/>` + "\n" +
		sipp200("a=recvonly") + sippAck2xx(2) +
		`  <pause milliseconds="300"/>` + "\n" +
		sippInDialog("INVITE", 3, 3, "sendrecv") +
		`  <recv response="100" optional="true"/>` + "\n" +
		sipp200("a=sendrecv") + sippAck2xx(3) +
		`  <pause milliseconds="200"/>` + "\n" +
		sippInDialog("BYE", 4, 0, "") + sipp200("")

	done := make(chan struct{})
	var legMuted []bool
	go func() {
		defer close(done)
		var leg *confLeg
		select {
		case leg = <-conf.joins:
		case <-time.After(10 * time.Second):
			return // reported below: no mute states
		}
		// Sample the leg's mute state while sipp holds and resumes.
		deadline := time.After(10 * time.Second)
		for {
			m := leg.muted.Load()
			if len(legMuted) == 0 || legMuted[len(legMuted)-1] != m {
				legMuted = append(legMuted, m)
			}
			select {
			case <-leg.left:
				return
			case <-deadline:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	runSipp(t, udp.String(), "hold", scenario)
	<-done
	if fmt.Sprint(legMuted) != "[false true false]" {
		t.Errorf("leg mute states %v, want [false true false]", legMuted)
	}
	waitFor(t, 2*time.Second, "call removed", func() bool { return gw.activeCalls() == 0 })
	closeAndCheck(t, nil, gw)
}
