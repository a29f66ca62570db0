// Package notify delivers Confab's meeting events (package events) to where
// they are wanted, at least once:
//
//   - each meeting's NotificationsConfiguration targets, as Chime does:
//     SqsQueueArn → SQS SendMessage, SnsTopicArn → SNS Publish,
//     LambdaFunctionArn → Lambda Invoke (InvocationType Event). ARNs are
//     served by configured Endpoints (region and account → endpoint URL and
//     credentials), so a self-hosted queue and real AWS both work; see
//     Resolver.Check.
//   - deployment-wide hooks (webhook, sqs, sns, eventbridge), each with an
//     event-type filter, managed in the configuration file and the admin API.
//
// Every message body is the event's EventBridge JSON (events.Event.JSON),
// byte for byte; SNS subscribers see it in the SNS envelope's "Message"
// unless raw delivery is on. EventBridge receives the envelope's parts
// (detail-type, detail, resources, time) with the hook's Source, by default
// "confab.chime" because PutEvents refuses sources starting with "aws.".
// See https://docs.aws.amazon.com/chime-sdk/latest/dg/using-events.html.
//
// # Delivery
//
// The outbox is a set of bbolt buckets ("notify.*"). With Params.DB they
// live in the control plane's own file (store.Bolt), and the store writes
// the meeting service's events through Service.WriteEvents (store.Outbox)
// in the same transaction as the changes they report: a change is never
// durable without its event. Those events reach the bus marked Outboxed and
// Deliver skips them. Service.Deliver (an events.Sink) writes every other
// event (joins, leaves, video…) into the outbox before it returns; one
// writer goroutine group-commits whatever was queued meanwhile, so
// concurrent Deliver calls share one fsync. The outbox and the dead-letter
// store are bounded (Config.Limits): what does not fit is dead-lettered
// with reason outbox_full, never refused. One
// worker per target (per hook, per meeting target ARN, and the DLQ) sends in
// order, batching where the API allows (SQS, SNS, EventBridge: 10), and
// retries failures with exponential backoff and jitter. When an event's retry
// budget (Config.Retry) is spent it moves to the dead-letter store, which the
// admin API lists and re-drives; Config.DLQ also receives a copy. An event
// over Config.MaxMessageBytes (256 KiB) is never sent: it is dead-lettered
// with reason too_large; a panic while sending dead-letters the batch with
// reason panic (counted in Params.Panics). A restart re-reads the outbox and loses nothing
// accepted; an event may then be sent twice, so consumers de-duplicate on the
// event "id", which never changes. Order is best effort.
//
// # Parts
//
// Service is only the composition root (service.go): it builds the parts,
// implements events.Sink and store.Outbox by routing an event (registry)
// and writing it (outbox), and closes them in order. Each part has a small
// API and its own lock:
//
//   - outbox (outbox*.go): the durable queue in bbolt, one bucket per
//     target key plus the dead-letter store. One writer goroutine
//     group-commits every change; a change is a wtx (append, ack, retry
//     bookkeeping, dead-lettering, eviction past Limits). deadStore
//     (deadletter.go) lists, re-drives and discards dead letters.
//   - dispatcher (dispatcher.go, worker.go): one worker goroutine per target
//     key with queued events: it loads from the outbox, sends in batches,
//     backs off, dead-letters what its budget no longer covers, and
//     contains panics. Senders (senders.go, webhook.go, aws.go) do the I/O.
//   - registry (registry.go, hooks.go, meetings.go): the hooks, the
//     meetings' targets, the DLQ and the Resolver; matches an event to its
//     target keys and gives each key's sender.
//   - admin (admin.go): the HTTP API over the three.
//
// The arrows, with what flows along them:
//
//	bus ─Deliver─▶ Service ─route─▶ registry
//	store ─WriteEvents─▶ Service ─write, inTx─▶ outbox ─commit: wake─▶ dispatcher
//	dispatcher ─load, async─▶ outbox     dispatcher ─target─▶ registry
//	registry ─write (hooks, meetings)─▶ outbox
//	admin ─▶ registry, deadStore ─▶ outbox; admin ─wake─▶ dispatcher
//
// # Webhooks
//
// A webhook receives POST <url> with Content-Type application/json, the
// event JSON as body, and these headers:
//
//	X-Confab-Timestamp: 1795428000                  Unix seconds when signed
//	X-Confab-Signature: v1=5257a869e7ec…            hex HMAC-SHA256, see below
//	X-Confab-Event-Id:  3f1c…                       de-duplication key
//	X-Confab-Event-Type: chime:AttendeeJoined
//	X-Confab-Hook:      billing
//	X-Confab-Attempt:   1
//
// The signature is hex(HMAC-SHA256(key = the hook's secret, message =
// timestamp + "." + raw body)), prefixed "v1=". To verify (VerifyWebhook does
// all of this):
//
//  1. Read the raw body bytes, before any JSON parsing.
//  2. Reject if the timestamp is more than 5 minutes from your clock.
//  3. Compute the HMAC over the timestamp header value, ".", and the body.
//  4. Compare "v1=" + hex digest with each comma-separated value of the
//     signature header in constant time (hmac.Equal); accept on a match.
//  5. De-duplicate on X-Confab-Event-Id (equal to the body's "id").
//
// Any 2xx answer within Config.WebhookTimeout (5 s) counts as delivered;
// anything else is retried.
//
// A hook with WebhookTarget.Batch > 1 instead always gets a JSON array of
// the events queued for it (up to Batch, never waiting for more), signed
// the same way over the whole array, with X-Confab-Batch: <count> in place
// of X-Confab-Event-Id and X-Confab-Event-Type, and X-Confab-Attempt the
// highest attempt among them. The POST succeeds or fails as a whole;
// de-duplicate on each event's "id".
//
// # Wiring
//
//	svc, err := notify.New(cfg, notify.Params{Log: log, Registerer: reg, DB: st.DB()})
//	st.SetOutbox(svc)                           // the store writes its changes' events
//	bus.Subscribe(svc)                          // every other event flows in
//	svc.SetMeetingTargets(id, targets)          // at CreateMeeting, before MeetingStarted
//	mux.Handle("/admin/notify/", auth(svc.Admin()))
//	defer svc.Close()
package notify
