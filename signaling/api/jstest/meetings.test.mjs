// Confab's control plane driven by the unmodified AWS SDK for JavaScript v3
// Chime SDK Meetings client, pointed at a running `confab serve`.
//
// Run by cmd/confab/js_test.go (TestJSClientSDK), which starts the servers
// and sets:
//   CONFAB_ENDPOINT            server with throttling off (quotas.api_requests_per_second: 0)
//   CONFAB_THROTTLED_ENDPOINT  server with the default quotas (10 rps, burst 20)
//   CONFAB_ACCESS_KEY_ID, CONFAB_SECRET_ACCESS_KEY
// Expectations follow the wire-format sheet (docs: chime-meetings-api.md), not
// whatever the server happens to answer.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import {
  ChimeSDKMeetingsClient,
  CreateMeetingCommand,
  CreateMeetingWithAttendeesCommand,
  GetMeetingCommand,
  DeleteMeetingCommand,
  CreateAttendeeCommand,
  BatchCreateAttendeeCommand,
  ListAttendeesCommand,
  GetAttendeeCommand,
  DeleteAttendeeCommand,
  UpdateAttendeeCapabilitiesCommand,
  BatchUpdateAttendeeCapabilitiesExceptCommand,
  StartMeetingTranscriptionCommand,
  StopMeetingTranscriptionCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-chime-sdk-meetings';

function requireEnv(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`environment variable ${name} is not set (run through TestJSClientSDK in cmd/confab)`);
  }
  return v;
}

const ENDPOINT = requireEnv('CONFAB_ENDPOINT');
const THROTTLED_ENDPOINT = requireEnv('CONFAB_THROTTLED_ENDPOINT');
const KEY_ID = requireEnv('CONFAB_ACCESS_KEY_ID');
const SECRET = requireEnv('CONFAB_SECRET_ACCESS_KEY');

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const GUID = /^[a-fA-F0-9]{8}(-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}$/;
const JOIN_TOKEN = /^[A-Za-z0-9_-]+$/;
const SEND_RECEIVE = { Audio: 'SendReceive', Video: 'SendReceive', Content: 'SendReceive' };

function makeClient(endpoint, keyId = KEY_ID, secret = SECRET) {
  return new ChimeSDKMeetingsClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: keyId, secretAccessKey: secret },
    maxAttempts: 1,
  });
}

const client = makeClient(ENDPOINT);

// token returns a fresh ClientRequestToken (2–64 of [-_a-zA-Z0-9]).
const token = () => `jstest-${randomUUID()}`;
const uniq = (prefix) => `${prefix}-${randomUUID().slice(0, 8)}`;

function meetingArn(meetingId) {
  return `arn:aws:chime:${REGION}:${ACCOUNT}:meeting/${meetingId}`;
}

async function newMeeting(extra = {}) {
  const input = {
    ClientRequestToken: token(),
    MediaRegion: 'us-east-1',
    ExternalMeetingId: uniq('ext-meeting'),
    ...extra,
  };
  const out = await client.send(new CreateMeetingCommand(input));
  assert.ok(out.Meeting, 'CreateMeeting returned no Meeting');
  return { input, meeting: out.Meeting };
}

async function newAttendee(meetingId, externalUserId = uniq('user'), capabilities) {
  const input = { MeetingId: meetingId, ExternalUserId: externalUserId };
  if (capabilities) input.Capabilities = capabilities;
  const out = await client.send(new CreateAttendeeCommand(input));
  assert.ok(out.Attendee, 'CreateAttendee returned no Attendee');
  return out.Attendee;
}

// expectError runs fn, which must reject with the named modeled exception and
// HTTP status; the message must say something, and the error body fields
// (Code, Message, RequestId) must agree with the headers.
async function expectError(fn, name, status, messagePattern) {
  let err;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${name} (${status}), but the call succeeded`);
  assert.equal(err.name, name, `error name (message: ${err.message})`);
  assert.equal(err.$metadata?.httpStatusCode, status, `HTTP status of ${name}`);
  assert.equal(typeof err.message, 'string');
  assert.ok(err.message.length >= 8, `message too short to be meaningful: ${JSON.stringify(err.message)}`);
  assert.notEqual(err.message, name, 'message only repeats the error name');
  assert.notEqual(err.message, 'UnknownError');
  assert.ok(err.$metadata.requestId, 'no X-Amzn-RequestId on the error response');
  if (err.Code !== undefined) assert.equal(err.Code, name, 'body Code disagrees with X-Amzn-ErrorType');
  if (err.RequestId !== undefined) assert.equal(err.RequestId, err.$metadata.requestId, 'body RequestId disagrees with header');
  assert.equal(err.$fault, status >= 500 ? 'server' : 'client');
  if (messagePattern) assert.match(err.message, messagePattern);
  return err;
}

function assertMeetingShape(m, input) {
  assert.match(m.MeetingId, GUID);
  assert.equal(m.ExternalMeetingId, input.ExternalMeetingId);
  assert.equal(m.MediaRegion, input.MediaRegion);
  if (input.MeetingHostId !== undefined) assert.equal(m.MeetingHostId, input.MeetingHostId);
  assert.equal(m.MeetingArn, meetingArn(m.MeetingId));
  assert.deepEqual(m.TenantIds, input.TenantIds ?? []);

  const mp = m.MediaPlacement;
  assert.ok(mp, 'no MediaPlacement');
  assert.equal(typeof mp.AudioHostUrl, 'string');
  assert.ok(mp.AudioHostUrl.length > 0, 'AudioHostUrl empty');
  for (const [k, v] of Object.entries(mp)) {
    if (v !== undefined) assert.equal(typeof v, 'string', `MediaPlacement.${k}`);
  }
  const host = new URL(ENDPOINT).host; // 127.0.0.1:PORT
  assert.equal(mp.SignalingUrl, `ws://${host}/control/${m.MeetingId}`);
  assert.ok(!mp.SignalingUrl.includes('?'), 'SignalingUrl carries a query');
}

function assertAttendeeShape(a, externalUserId, capabilities = SEND_RECEIVE) {
  assert.match(a.AttendeeId, GUID);
  assert.equal(a.ExternalUserId, externalUserId);
  assert.equal(typeof a.JoinToken, 'string');
  assert.match(a.JoinToken, JOIN_TOKEN, 'JoinToken is not unpadded base64url');
  assert.ok(a.JoinToken.length >= 2 && a.JoinToken.length <= 2048, `JoinToken length ${a.JoinToken.length}`);
  assert.deepEqual(a.Capabilities, capabilities);
}

const byKey = (tags) => [...tags].sort((a, b) => a.Key.localeCompare(b.Key));

// ---------------------------------------------------------------------------

describe('meetings', () => {
  test('CreateMeeting returns a complete Meeting and GetMeeting returns the same', async () => {
    const { input, meeting } = await newMeeting({ MeetingHostId: uniq('host') });
    assertMeetingShape(meeting, input);

    const got = await client.send(new GetMeetingCommand({ MeetingId: meeting.MeetingId }));
    assertMeetingShape(got.Meeting, input);
    assert.equal(got.Meeting.MeetingId, meeting.MeetingId);
    assert.deepEqual(got.Meeting.MediaPlacement, meeting.MediaPlacement);
    assert.equal(got.$metadata.httpStatusCode, 200);
  });

  test('CreateMeeting echoes TenantIds, MeetingFeatures and another MediaRegion', async () => {
    const features = {
      Audio: { EchoReduction: 'AVAILABLE' },
      Video: { MaxResolution: 'HD' },
      Content: { MaxResolution: 'FHD' },
      Attendee: { MaxCount: 50 },
    };
    const { input, meeting } = await newMeeting({
      MediaRegion: 'eu-west-1',
      TenantIds: ['tenant-a', 'tenant_b'],
      MeetingFeatures: features,
    });
    assert.equal(meeting.MediaRegion, 'eu-west-1');
    assert.deepEqual(meeting.TenantIds, ['tenant-a', 'tenant_b']);
    assert.deepEqual(meeting.MeetingFeatures, features);
    assert.match(meeting.MeetingArn, new RegExp(`^arn:aws:chime:[a-z0-9-]+:${ACCOUNT}:meeting/${meeting.MeetingId}$`));
    assert.match(meeting.MeetingId, GUID);
    assert.equal(meeting.ExternalMeetingId, input.ExternalMeetingId);
  });

  test('CreateMeeting is idempotent on ClientRequestToken (sequential)', async () => {
    const tok = token();
    const input = { ClientRequestToken: tok, MediaRegion: 'us-east-1', ExternalMeetingId: uniq('ext') };
    const a = await client.send(new CreateMeetingCommand(input));
    const b = await client.send(new CreateMeetingCommand(input));
    assert.equal(b.Meeting.MeetingId, a.Meeting.MeetingId);
    const other = await client.send(new CreateMeetingCommand({ ...input, ClientRequestToken: token() }));
    assert.notEqual(other.Meeting.MeetingId, a.Meeting.MeetingId, 'a different token must make a different meeting');
  });

  test('10 concurrent CreateMeeting with one token make one meeting', async () => {
    const input = { ClientRequestToken: token(), MediaRegion: 'us-east-1', ExternalMeetingId: uniq('ext') };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => client.send(new CreateMeetingCommand(input))),
    );
    const ids = new Set(results.map((r) => r.Meeting.MeetingId));
    assert.equal(ids.size, 1, `got ${ids.size} MeetingIds: ${[...ids].join(', ')}`);
    const [id] = ids;
    assert.match(id, GUID);
    const got = await client.send(new GetMeetingCommand({ MeetingId: id }));
    assert.equal(got.Meeting.ExternalMeetingId, input.ExternalMeetingId);
  });

  test('CreateMeetingWithAttendees creates the meeting and its attendees', async () => {
    const input = {
      ClientRequestToken: token(),
      MediaRegion: 'us-east-1',
      ExternalMeetingId: uniq('ext'),
      Attendees: [
        { ExternalUserId: 'alice-' + randomUUID().slice(0, 6) },
        { ExternalUserId: 'bob-' + randomUUID().slice(0, 6), Capabilities: { Audio: 'Receive', Video: 'None', Content: 'None' } },
        { ExternalUserId: 'carol-' + randomUUID().slice(0, 6) },
      ],
    };
    const out = await client.send(new CreateMeetingWithAttendeesCommand(input));
    assertMeetingShape(out.Meeting, input);
    assert.equal(out.Attendees.length, 3);
    assert.deepEqual(out.Errors ?? [], []);
    const byUser = new Map(out.Attendees.map((a) => [a.ExternalUserId, a]));
    assertAttendeeShape(byUser.get(input.Attendees[0].ExternalUserId), input.Attendees[0].ExternalUserId);
    assertAttendeeShape(byUser.get(input.Attendees[1].ExternalUserId), input.Attendees[1].ExternalUserId,
      { Audio: 'Receive', Video: 'None', Content: 'None' });
    assertAttendeeShape(byUser.get(input.Attendees[2].ExternalUserId), input.Attendees[2].ExternalUserId);
    assert.equal(new Set(out.Attendees.map((a) => a.AttendeeId)).size, 3);

    // the attendees are really in the meeting
    const list = await client.send(new ListAttendeesCommand({ MeetingId: out.Meeting.MeetingId, MaxResults: 100 }));
    assert.deepEqual(
      list.Attendees.map((a) => a.AttendeeId).sort(),
      out.Attendees.map((a) => a.AttendeeId).sort(),
    );
  });

  test('DeleteMeeting ends the meeting: GetMeeting and CreateAttendee give NotFoundException', async () => {
    const { meeting } = await newMeeting();
    const id = meeting.MeetingId;
    const del = await client.send(new DeleteMeetingCommand({ MeetingId: id }));
    assert.equal(del.$metadata.httpStatusCode, 204);

    await expectError(() => client.send(new GetMeetingCommand({ MeetingId: id })),
      'NotFoundException', 404, new RegExp(id));
    await expectError(() => client.send(new CreateAttendeeCommand({ MeetingId: id, ExternalUserId: 'late-user' })),
      'NotFoundException', 404, new RegExp(id));
  });

  test('GetMeeting / DeleteMeeting of an unknown meeting give NotFoundException', async () => {
    const id = randomUUID();
    await expectError(() => client.send(new GetMeetingCommand({ MeetingId: id })), 'NotFoundException', 404);
    await expectError(() => client.send(new DeleteMeetingCommand({ MeetingId: id })), 'NotFoundException', 404);
  });

  test('a MeetingId that is not a GUID gives BadRequestException', async () => {
    await expectError(() => client.send(new GetMeetingCommand({ MeetingId: 'not-a-guid' })),
      'BadRequestException', 400, /MeetingId/);
  });

  test('an unknown MediaRegion gives BadRequestException', async () => {
    await expectError(() => newMeeting({ MediaRegion: 'mars-north-1' }), 'BadRequestException', 400);
  });

  test('FHD video or UHD content without Attendee.MaxCount gives BadRequestException', async () => {
    await expectError(() => newMeeting({ MeetingFeatures: { Video: { MaxResolution: 'FHD' } } }),
      'BadRequestException', 400);
    await expectError(() => newMeeting({ MeetingFeatures: { Content: { MaxResolution: 'UHD' } } }),
      'BadRequestException', 400);
    // with the count (≤ 25) it is accepted
    const { meeting } = await newMeeting({
      MeetingFeatures: { Video: { MaxResolution: 'FHD' }, Attendee: { MaxCount: 25 } },
    });
    assert.equal(meeting.MeetingFeatures?.Video?.MaxResolution, 'FHD');
    assert.equal(meeting.MeetingFeatures?.Attendee?.MaxCount, 25);
  });
});

describe('attendees', () => {
  test('CreateAttendee, GetAttendee and the same ExternalUserId returning the same attendee', async () => {
    const { meeting } = await newMeeting();
    const user = uniq('user');
    const a = await newAttendee(meeting.MeetingId, user);
    assertAttendeeShape(a, user);

    const got = await client.send(new GetAttendeeCommand({ MeetingId: meeting.MeetingId, AttendeeId: a.AttendeeId }));
    assert.equal(got.Attendee.AttendeeId, a.AttendeeId);
    assert.equal(got.Attendee.ExternalUserId, user);
    assert.deepEqual(got.Attendee.Capabilities, SEND_RECEIVE);

    const again = await newAttendee(meeting.MeetingId, user);
    assert.equal(again.AttendeeId, a.AttendeeId);
    assert.equal(again.JoinToken, a.JoinToken);

    const other = await newAttendee(meeting.MeetingId, uniq('user'));
    assert.notEqual(other.AttendeeId, a.AttendeeId);
    assert.notEqual(other.JoinToken, a.JoinToken);
  });

  test('CreateAttendee with explicit Capabilities keeps them', async () => {
    const { meeting } = await newMeeting();
    const caps = { Audio: 'Send', Video: 'Receive', Content: 'Receive' };
    const user = uniq('user');
    const a = await newAttendee(meeting.MeetingId, user, caps);
    assertAttendeeShape(a, user, caps);
  });

  test('DeleteAttendee removes the attendee', async () => {
    const { meeting } = await newMeeting();
    const a = await newAttendee(meeting.MeetingId);
    const keep = await newAttendee(meeting.MeetingId);
    const del = await client.send(new DeleteAttendeeCommand({ MeetingId: meeting.MeetingId, AttendeeId: a.AttendeeId }));
    assert.equal(del.$metadata.httpStatusCode, 204);

    await expectError(() => client.send(new GetAttendeeCommand({ MeetingId: meeting.MeetingId, AttendeeId: a.AttendeeId })),
      'NotFoundException', 404);
    const list = await client.send(new ListAttendeesCommand({ MeetingId: meeting.MeetingId }));
    assert.deepEqual(list.Attendees.map((x) => x.AttendeeId), [keep.AttendeeId]);
  });

  test('GetAttendee of an unknown attendee gives NotFoundException', async () => {
    const { meeting } = await newMeeting();
    await expectError(() => client.send(new GetAttendeeCommand({ MeetingId: meeting.MeetingId, AttendeeId: randomUUID() })),
      'NotFoundException', 404);
  });

  test('BatchCreateAttendee creates the good items and reports the bad one in Errors', async () => {
    const { meeting } = await newMeeting();
    const good = [uniq('user'), uniq('user'), uniq('user')];
    const out = await client.send(new BatchCreateAttendeeCommand({
      MeetingId: meeting.MeetingId,
      Attendees: [
        { ExternalUserId: good[0] },
        { ExternalUserId: 'x' }, // too short (2–64)
        { ExternalUserId: good[1], Capabilities: { Audio: 'SendReceive', Video: 'None', Content: 'None' } },
        { ExternalUserId: good[2] },
      ],
    }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.Attendees.length, 3);
    assert.deepEqual(out.Attendees.map((a) => a.ExternalUserId).sort(), [...good].sort());
    for (const a of out.Attendees) {
      const caps = a.ExternalUserId === good[1] ? { Audio: 'SendReceive', Video: 'None', Content: 'None' } : SEND_RECEIVE;
      assertAttendeeShape(a, a.ExternalUserId, caps);
    }
    assert.equal(out.Errors.length, 1);
    const [e] = out.Errors;
    assert.equal(e.ExternalUserId, 'x');
    assert.equal(typeof e.ErrorCode, 'string');
    assert.ok(e.ErrorCode.length > 0, 'empty ErrorCode');
    assert.equal(typeof e.ErrorMessage, 'string');
    assert.ok(e.ErrorMessage.length >= 8, `ErrorMessage not meaningful: ${JSON.stringify(e.ErrorMessage)}`);

    const list = await client.send(new ListAttendeesCommand({ MeetingId: meeting.MeetingId, MaxResults: 100 }));
    assert.deepEqual(list.Attendees.map((a) => a.AttendeeId).sort(), out.Attendees.map((a) => a.AttendeeId).sort());
  });

  test('ListAttendees pages 25 attendees as 10 + 10 + 5 with NextToken', async () => {
    const { meeting } = await newMeeting();
    const users = Array.from({ length: 25 }, (_, i) => `page-user-${String(i).padStart(2, '0')}`);
    const created = await client.send(new BatchCreateAttendeeCommand({
      MeetingId: meeting.MeetingId,
      Attendees: users.map((u) => ({ ExternalUserId: u })),
    }));
    assert.deepEqual(created.Errors ?? [], []);
    assert.equal(created.Attendees.length, 25);

    const pages = [];
    let next;
    do {
      const out = await client.send(new ListAttendeesCommand({ MeetingId: meeting.MeetingId, MaxResults: 10, NextToken: next }));
      pages.push(out.Attendees);
      next = out.NextToken;
      assert.ok(pages.length <= 5, 'pagination does not terminate');
    } while (next);

    assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
    const ids = pages.flat().map((a) => a.AttendeeId);
    assert.equal(new Set(ids).size, 25, 'duplicate attendees across pages');
    assert.deepEqual([...ids].sort(), created.Attendees.map((a) => a.AttendeeId).sort());
    assert.deepEqual(pages.flat().map((a) => a.ExternalUserId).sort(), users);
    for (const a of pages.flat()) assertAttendeeShape(a, a.ExternalUserId);

    // default page size is 10
    const first = await client.send(new ListAttendeesCommand({ MeetingId: meeting.MeetingId }));
    assert.equal(first.Attendees.length, 10);
    assert.ok(first.NextToken, 'no NextToken on a partial default page');
  });

  test('ListAttendees with MaxResults outside 1–100 gives BadRequestException', async () => {
    const { meeting } = await newMeeting();
    await expectError(() => client.send(new ListAttendeesCommand({ MeetingId: meeting.MeetingId, MaxResults: 101 })),
      'BadRequestException', 400);
    await expectError(() => client.send(new ListAttendeesCommand({ MeetingId: meeting.MeetingId, MaxResults: 0 })),
      'BadRequestException', 400);
  });

  test('UpdateAttendeeCapabilities changes and returns the capabilities', async () => {
    const { meeting } = await newMeeting();
    const a = await newAttendee(meeting.MeetingId);
    const caps = { Audio: 'Receive', Video: 'Send', Content: 'None' };
    const out = await client.send(new UpdateAttendeeCapabilitiesCommand({
      MeetingId: meeting.MeetingId, AttendeeId: a.AttendeeId, Capabilities: caps,
    }));
    assert.equal(out.Attendee.AttendeeId, a.AttendeeId);
    assert.equal(out.Attendee.ExternalUserId, a.ExternalUserId);
    assert.deepEqual(out.Attendee.Capabilities, caps);
    const got = await client.send(new GetAttendeeCommand({ MeetingId: meeting.MeetingId, AttendeeId: a.AttendeeId }));
    assert.deepEqual(got.Attendee.Capabilities, caps);
  });

  test('BatchUpdateAttendeeCapabilitiesExcept updates all but the excluded', async () => {
    const { meeting } = await newMeeting();
    const [a, b, c, d] = [
      await newAttendee(meeting.MeetingId),
      await newAttendee(meeting.MeetingId),
      await newAttendee(meeting.MeetingId),
      await newAttendee(meeting.MeetingId),
    ];
    const caps = { Audio: 'Receive', Video: 'None', Content: 'None' };
    const out = await client.send(new BatchUpdateAttendeeCapabilitiesExceptCommand({
      MeetingId: meeting.MeetingId,
      ExcludedAttendeeIds: [{ AttendeeId: b.AttendeeId }, { AttendeeId: d.AttendeeId }],
      Capabilities: caps,
    }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    for (const [att, want] of [[a, caps], [b, SEND_RECEIVE], [c, caps], [d, SEND_RECEIVE]]) {
      const got = await client.send(new GetAttendeeCommand({ MeetingId: meeting.MeetingId, AttendeeId: att.AttendeeId }));
      assert.deepEqual(got.Attendee.Capabilities, want, `attendee ${att.ExternalUserId}`);
    }
  });

  test('capability rules give BadRequestException', async () => {
    const { meeting } = await newMeeting();
    // Content Receive / SendReceive while Video is not Receive / SendReceive
    await expectError(() => newAttendee(meeting.MeetingId, uniq('user'), { Audio: 'SendReceive', Video: 'Send', Content: 'Receive' }),
      'BadRequestException', 400);
    await expectError(() => newAttendee(meeting.MeetingId, uniq('user'), { Audio: 'SendReceive', Video: 'None', Content: 'SendReceive' }),
      'BadRequestException', 400);
    const a = await newAttendee(meeting.MeetingId);
    await expectError(() => client.send(new UpdateAttendeeCapabilitiesCommand({
      MeetingId: meeting.MeetingId, AttendeeId: a.AttendeeId,
      Capabilities: { Audio: 'SendReceive', Video: 'None', Content: 'Receive' },
    })), 'BadRequestException', 400);
    const got = await client.send(new GetAttendeeCommand({ MeetingId: meeting.MeetingId, AttendeeId: a.AttendeeId }));
    assert.deepEqual(got.Attendee.Capabilities, SEND_RECEIVE, 'a rejected update changed the attendee');

    // Video ≠ None when the meeting's Video.MaxResolution is None
    const { meeting: noVideo } = await newMeeting({ MeetingFeatures: { Video: { MaxResolution: 'None' } } });
    await expectError(() => newAttendee(noVideo.MeetingId, uniq('user'), { Audio: 'SendReceive', Video: 'Receive', Content: 'None' }),
      'BadRequestException', 400);
    const ok = await newAttendee(noVideo.MeetingId, uniq('user'), { Audio: 'SendReceive', Video: 'None', Content: 'None' });
    assert.deepEqual(ok.Capabilities, { Audio: 'SendReceive', Video: 'None', Content: 'None' });

    // Content ≠ None when the meeting's Content.MaxResolution is None
    const { meeting: noContent } = await newMeeting({ MeetingFeatures: { Content: { MaxResolution: 'None' } } });
    await expectError(() => newAttendee(noContent.MeetingId, uniq('user'), { Audio: 'SendReceive', Video: 'SendReceive', Content: 'Send' }),
      'BadRequestException', 400);
  });

  test('Attendee.MaxCount caps the meeting: the third of two gives LimitExceededException', async () => {
    const { meeting } = await newMeeting({ MeetingFeatures: { Attendee: { MaxCount: 2 } } });
    await newAttendee(meeting.MeetingId);
    await newAttendee(meeting.MeetingId);
    await expectError(() => newAttendee(meeting.MeetingId), 'LimitExceededException', 400);
    const list = await client.send(new ListAttendeesCommand({ MeetingId: meeting.MeetingId }));
    assert.equal(list.Attendees.length, 2);
  });
});

describe('transcription', () => {
  test('Start/StopMeetingTranscription on a live meeting give UnprocessableEntityException (no engine)', async () => {
    const { meeting } = await newMeeting();
    const err = await expectError(() => client.send(new StartMeetingTranscriptionCommand({
      MeetingId: meeting.MeetingId,
      TranscriptionConfiguration: { EngineTranscribeSettings: { LanguageCode: 'en-US' } },
    })), 'UnprocessableEntityException', 422);
    assert.match(err.message, /transcri/i);
    const err2 = await expectError(() => client.send(new StopMeetingTranscriptionCommand({ MeetingId: meeting.MeetingId })),
      'UnprocessableEntityException', 422);
    assert.match(err2.message, /transcri/i);
  });

  test('Start/StopMeetingTranscription on an unknown meeting give NotFoundException', async () => {
    const id = randomUUID();
    await expectError(() => client.send(new StartMeetingTranscriptionCommand({
      MeetingId: id,
      TranscriptionConfiguration: { EngineTranscribeSettings: { LanguageCode: 'en-US' } },
    })), 'NotFoundException', 404);
    await expectError(() => client.send(new StopMeetingTranscriptionCommand({ MeetingId: id })), 'NotFoundException', 404);
  });
});

describe('tags', () => {
  test('tags given at CreateMeeting are listed; TagResource adds and overwrites; UntagResource removes', async () => {
    const { meeting } = await newMeeting({ Tags: [{ Key: 'team', Value: 'red' }, { Key: 'env', Value: 'test' }] });
    const arn = meeting.MeetingArn;
    assert.equal(arn, meetingArn(meeting.MeetingId));

    let out = await client.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    assert.deepEqual(byKey(out.Tags), [{ Key: 'env', Value: 'test' }, { Key: 'team', Value: 'red' }]);

    const tagged = await client.send(new TagResourceCommand({
      ResourceARN: arn, Tags: [{ Key: 'team', Value: 'blue' }, { Key: 'cost-center', Value: '42' }],
    }));
    assert.equal(tagged.$metadata.httpStatusCode, 204);
    out = await client.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    assert.deepEqual(byKey(out.Tags), [
      { Key: 'cost-center', Value: '42' }, { Key: 'env', Value: 'test' }, { Key: 'team', Value: 'blue' },
    ]);

    const untagged = await client.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ['env', 'team'] }));
    assert.equal(untagged.$metadata.httpStatusCode, 204);
    out = await client.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
    assert.deepEqual(out.Tags, [{ Key: 'cost-center', Value: '42' }]);
  });

  test('a meeting without tags lists none', async () => {
    const { meeting } = await newMeeting();
    const out = await client.send(new ListTagsForResourceCommand({ ResourceARN: meeting.MeetingArn }));
    assert.deepEqual(out.Tags ?? [], []);
  });

  test('an unknown ARN gives ResourceNotFoundException', async () => {
    const arn = meetingArn(randomUUID());
    await expectError(() => client.send(new ListTagsForResourceCommand({ ResourceARN: arn })), 'ResourceNotFoundException', 404);
    await expectError(() => client.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: 'k', Value: 'v' }] })),
      'ResourceNotFoundException', 404);
    await expectError(() => client.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ['k'] })),
      'ResourceNotFoundException', 404);
  });

  // The service model limits the Tags member itself to 1–50 items, so 51 in one call is invalid input
  // (BadRequestException); TooManyTagsException is for a meeting that would end up with more than 50.
  test('TagResource with 51 tags in one call gives BadRequestException', async () => {
    const { meeting } = await newMeeting();
    const tags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
    await expectError(() => client.send(new TagResourceCommand({ ResourceARN: meeting.MeetingArn, Tags: tags })),
      'BadRequestException', 400);
    const out = await client.send(new ListTagsForResourceCommand({ ResourceARN: meeting.MeetingArn }));
    assert.deepEqual(out.Tags ?? [], [], 'a rejected TagResource left tags behind');
  });

  test('a tag beyond 50 on the meeting gives TooManyTagsException', async () => {
    const { meeting } = await newMeeting();
    const tags = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
    await client.send(new TagResourceCommand({ ResourceARN: meeting.MeetingArn, Tags: tags }));
    let out = await client.send(new ListTagsForResourceCommand({ ResourceARN: meeting.MeetingArn }));
    assert.equal(out.Tags.length, 50);
    await expectError(() => client.send(new TagResourceCommand({ ResourceARN: meeting.MeetingArn, Tags: [{ Key: 'extra', Value: 'x' }] })),
      'TooManyTagsException', 400);
    // overwriting an existing key does not add a tag, so it is allowed
    await client.send(new TagResourceCommand({ ResourceARN: meeting.MeetingArn, Tags: [{ Key: 'k0', Value: 'new' }] }));
    out = await client.send(new ListTagsForResourceCommand({ ResourceARN: meeting.MeetingArn }));
    assert.equal(out.Tags.length, 50);
    assert.equal(out.Tags.find((t) => t.Key === 'k0')?.Value, 'new');
  });

  test('a tag key beginning "aws:" gives BadRequestException', async () => {
    const { meeting } = await newMeeting();
    await expectError(() => client.send(new TagResourceCommand({
      ResourceARN: meeting.MeetingArn, Tags: [{ Key: 'aws:reserved', Value: 'v' }],
    })), 'BadRequestException', 400);
    const out = await client.send(new ListTagsForResourceCommand({ ResourceARN: meeting.MeetingArn }));
    assert.deepEqual(out.Tags ?? [], []);
  });
});

describe('authentication and throttling', () => {
  test('a wrong secret gives ForbiddenException', async () => {
    const bad = makeClient(ENDPOINT, KEY_ID, 'wrong-secret-0123456789abcdef');
    await expectError(() => bad.send(new GetMeetingCommand({ MeetingId: randomUUID() })), 'ForbiddenException', 403);
  });

  test('an unknown access key gives UnauthorizedException', async () => {
    const bad = makeClient(ENDPOINT, 'AKIDUNKNOWNJSTEST', SECRET);
    await expectError(() => bad.send(new GetMeetingCommand({ MeetingId: randomUUID() })), 'UnauthorizedException', 401);
  });

  test('more than 20 quick requests under the default quota give ThrottlingException', async () => {
    const throttled = makeClient(THROTTLED_ENDPOINT);
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => throttled.send(new GetMeetingCommand({ MeetingId: randomUUID() }))),
    );
    const errs = results.map((r) => {
      assert.equal(r.status, 'rejected', 'GetMeeting of an unknown meeting succeeded');
      return r.reason;
    });
    const names = errs.map((e) => e.name);
    for (const n of names) assert.ok(n === 'NotFoundException' || n === 'ThrottlingException', `unexpected ${n}`);
    const throttledErrs = errs.filter((e) => e.name === 'ThrottlingException');
    assert.ok(throttledErrs.length >= 1, `no ThrottlingException among 40 requests: ${names.join(',')}`);
    assert.ok(throttledErrs.length <= 20, `only ${40 - throttledErrs.length} of 40 passed, burst is 20`);
    await expectError(async () => { throw throttledErrs[0]; }, 'ThrottlingException', 429);

    // the throttling is per server: the unthrottled one still answers at once
    const { meeting } = await newMeeting();
    assert.match(meeting.MeetingId, GUID);
  });
});
