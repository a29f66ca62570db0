// Package voice serves the part of the Amazon Chime SDK Voice REST-JSON API
// that manages SIP media applications and SIP rules, so that
// `@aws-sdk/client-chime-sdk-voice` (or any AWS SDK's ChimeSDKVoice client)
// configures Confab's (package sma) by changing only its endpoint:
// CreateSipMediaApplication, GetSipMediaApplication,
// ListSipMediaApplications, UpdateSipMediaApplication,
// DeleteSipMediaApplication, CreateSipRule, GetSipRule, ListSipRules,
// UpdateSipRule and DeleteSipRule; and the calls of an application:
// CreateSipMediaApplicationCall (the SIP gateway places it through its
// outbound trunk) and UpdateSipMediaApplicationCall (CALL_UPDATE_REQUESTED
// to a call in progress). Requests are SigV4-signed (service
// "chime", as the SDKs sign them); failures are the typed exceptions the
// SDKs read (X-Amzn-ErrorType and {Code, Message}).
//
// What is created here is kept in the store (store.Objects, committed
// before the answer) and merged with the applications and rules of the
// configuration file, which the API lists but does not change
// (ConflictException). An application's Endpoints[0].LambdaArn is a Lambda
// function ARN (invoked through the notifications endpoints that serve
// it) or, as a Confab extension, an http(s) URL of a handler, whose
// requests are signed with Params.Secret.
//
// Reference: https://docs.aws.amazon.com/chime-sdk/latest/APIReference/API_Operations_Amazon_Chime_SDK_Voice.html
package voice
