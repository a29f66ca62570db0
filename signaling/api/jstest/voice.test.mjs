// Confab's SIP media applications and SIP rules managed with the unmodified
// AWS SDK for JavaScript v3 Chime SDK Voice client, pointed at a running
// `confab serve` (TestJSClientSDK in cmd/confab sets the environment).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import {
  ChimeSDKVoiceClient,
  CreateSipMediaApplicationCommand,
  GetSipMediaApplicationCommand,
  ListSipMediaApplicationsCommand,
  UpdateSipMediaApplicationCommand,
  DeleteSipMediaApplicationCommand,
  CreateSipRuleCommand,
  GetSipRuleCommand,
  ListSipRulesCommand,
  UpdateSipRuleCommand,
  DeleteSipRuleCommand,
} from '@aws-sdk/client-chime-sdk-voice';

const ENDPOINT = process.env.CONFAB_ENDPOINT;
const voice = new ChimeSDKVoiceClient({
  region: 'us-east-1',
  endpoint: ENDPOINT,
  credentials: { accessKeyId: process.env.CONFAB_ACCESS_KEY_ID, secretAccessKey: process.env.CONFAB_SECRET_ACCESS_KEY },
  maxAttempts: 1,
});

async function rejects(promise, name, status) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, name, `error name: ${err.name}: ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, status);
    return true;
  });
}

describe('SIP media applications and rules (Chime SDK Voice)', () => {
  test('create, get, list, update and delete an application and a rule', async () => {
    const created = await voice.send(new CreateSipMediaApplicationCommand({
      AwsRegion: 'us-east-1', Name: 'pin-dial-in', Endpoints: [{ LambdaArn: 'http://127.0.0.1:9/sma' }],
    }));
    const app = created.SipMediaApplication;
    assert.match(app.SipMediaApplicationId, /^[0-9a-f-]{36}$/);
    assert.equal(app.Name, 'pin-dial-in');
    assert.equal(app.AwsRegion, 'us-east-1');
    assert.deepEqual(app.Endpoints, [{ LambdaArn: 'http://127.0.0.1:9/sma' }]);
    assert.ok(app.CreatedTimestamp instanceof Date && !isNaN(app.CreatedTimestamp), 'CreatedTimestamp is a date');
    assert.match(app.SipMediaApplicationArn, /^arn:aws:chime:us-east-1:\d+:sma\//);

    const got = await voice.send(new GetSipMediaApplicationCommand({ SipMediaApplicationId: app.SipMediaApplicationId }));
    assert.equal(got.SipMediaApplication.Name, 'pin-dial-in');

    const rule = (await voice.send(new CreateSipRuleCommand({
      Name: 'pin-number', TriggerType: 'ToPhoneNumber', TriggerValue: '+15550177',
      TargetApplications: [{ SipMediaApplicationId: app.SipMediaApplicationId, Priority: 1, AwsRegion: 'us-east-1' }],
    }))).SipRule;
    assert.match(rule.SipRuleId, /^[0-9a-f-]{36}$/);
    assert.equal(rule.TriggerValue, '+15550177');
    assert.equal(rule.Disabled, false);
    assert.deepEqual(rule.TargetApplications, [{ SipMediaApplicationId: app.SipMediaApplicationId, Priority: 1, AwsRegion: 'us-east-1' }]);

    const apps = await voice.send(new ListSipMediaApplicationsCommand({}));
    assert.ok(apps.SipMediaApplications.some((a) => a.SipMediaApplicationId === app.SipMediaApplicationId));
    const rules = await voice.send(new ListSipRulesCommand({ SipMediaApplicationId: app.SipMediaApplicationId }));
    assert.deepEqual(rules.SipRules.map((r) => r.SipRuleId), [rule.SipRuleId]);

    const renamed = await voice.send(new UpdateSipMediaApplicationCommand({ SipMediaApplicationId: app.SipMediaApplicationId, Name: 'pin-v2' }));
    assert.equal(renamed.SipMediaApplication.Name, 'pin-v2');
    const disabled = await voice.send(new UpdateSipRuleCommand({ SipRuleId: rule.SipRuleId, Name: 'pin-number', Disabled: true }));
    assert.equal(disabled.SipRule.Disabled, true);
    assert.equal((await voice.send(new GetSipRuleCommand({ SipRuleId: rule.SipRuleId }))).SipRule.Disabled, true);

    // An application a rule targets cannot go first.
    await rejects(voice.send(new DeleteSipMediaApplicationCommand({ SipMediaApplicationId: app.SipMediaApplicationId })), 'ConflictException', 409);
    await voice.send(new DeleteSipRuleCommand({ SipRuleId: rule.SipRuleId }));
    await voice.send(new DeleteSipMediaApplicationCommand({ SipMediaApplicationId: app.SipMediaApplicationId }));
    await rejects(voice.send(new GetSipMediaApplicationCommand({ SipMediaApplicationId: app.SipMediaApplicationId })), 'NotFoundException', 404);
    await rejects(voice.send(new GetSipRuleCommand({ SipRuleId: rule.SipRuleId })), 'NotFoundException', 404);
  });

  test('bad input gets BadRequestException, unknown ids NotFoundException, a taken trigger ConflictException', async () => {
    await rejects(voice.send(new CreateSipMediaApplicationCommand({ AwsRegion: 'us-east-1', Name: 'x', Endpoints: [] })), 'BadRequestException', 400);
    await rejects(voice.send(new CreateSipMediaApplicationCommand({
      AwsRegion: 'us-east-1', Name: 'x', Endpoints: [{ LambdaArn: 'arn:aws:sqs:us-east-1:000000000000:q' }],
    })), 'BadRequestException', 400);
    await rejects(voice.send(new CreateSipRuleCommand({
      Name: 'r', TriggerType: 'ToPhoneNumber', TriggerValue: '5550100', TargetApplications: [{ SipMediaApplicationId: 'x', Priority: 1 }],
    })), 'BadRequestException', 400);
    await rejects(voice.send(new CreateSipRuleCommand({
      Name: 'r', TriggerType: 'ToPhoneNumber', TriggerValue: '+15550178', TargetApplications: [{ SipMediaApplicationId: 'no-such-app', Priority: 1 }],
    })), 'NotFoundException', 404);
    const app = (await voice.send(new CreateSipMediaApplicationCommand({
      AwsRegion: 'us-east-1', Name: 'host', Endpoints: [{ LambdaArn: 'https://127.0.0.1:9/h' }],
    }))).SipMediaApplication;
    const target = [{ SipMediaApplicationId: app.SipMediaApplicationId, Priority: 1 }];
    const rule = (await voice.send(new CreateSipRuleCommand({ Name: 'pbx', TriggerType: 'RequestUriHostname', TriggerValue: 'pbx.example.com', TargetApplications: target }))).SipRule;
    await rejects(voice.send(new CreateSipRuleCommand({ Name: 'again', TriggerType: 'RequestUriHostname', TriggerValue: 'PBX.example.com', TargetApplications: target })), 'ConflictException', 409);
    await voice.send(new DeleteSipRuleCommand({ SipRuleId: rule.SipRuleId }));
    await voice.send(new DeleteSipMediaApplicationCommand({ SipMediaApplicationId: app.SipMediaApplicationId }));
  });
});
