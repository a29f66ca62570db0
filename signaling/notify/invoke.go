package notify

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// InvokeLambda invokes a Lambda function synchronously (RequestResponse)
// with payload and returns its response payload: how SIP media
// applications call their handlers. The function ARN is served by the
// configured Endpoints, as meeting targets are (ErrInvalidARN,
// ErrNoEndpoint otherwise); a function error is an error. Clients are made
// once per ARN.
func (s *Service) InvokeLambda(ctx context.Context, functionARN string, payload []byte) ([]byte, error) {
	c, err := s.lambdaClient(ctx, functionARN)
	if err != nil {
		return nil, err
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: &functionARN, InvocationType: lambdatypes.InvocationTypeRequestResponse, Payload: payload,
	})
	if err != nil {
		return nil, err
	}
	if out.FunctionError != nil {
		return nil, fmt.Errorf("lambda function error: %s", aws.ToString(out.FunctionError))
	}
	return out.Payload, nil
}

// CheckLambda reports whether InvokeLambda can reach functionARN.
func (s *Service) CheckLambda(functionARN string) error {
	a, _, err := s.reg.resolver.resolve(functionARN)
	if err == nil && a.service != "lambda" {
		err = fmt.Errorf("%w: %q is not a Lambda function ARN", ErrInvalidARN, functionARN)
	}
	return err
}

// lambdaClients caches InvokeLambda's clients by ARN.
type lambdaClients struct {
	mu sync.Mutex
	m  map[string]*lambda.Client
}

func (s *Service) lambdaClient(ctx context.Context, functionARN string) (*lambda.Client, error) {
	if err := s.CheckLambda(functionARN); err != nil {
		return nil, err
	}
	s.lambdas.mu.Lock()
	defer s.lambdas.mu.Unlock()
	if c := s.lambdas.m[functionARN]; c != nil {
		return c, nil
	}
	a, ep, err := s.reg.resolver.resolve(functionARN)
	if err != nil {
		return nil, err
	}
	cfg, err := s.snd.awsConfig(ctx, a.region, ep.Credentials)
	if err != nil {
		return nil, err
	}
	c := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = endpointOpt(ep.URL) })
	if s.lambdas.m == nil {
		s.lambdas.m = map[string]*lambda.Client{}
	}
	if len(s.lambdas.m) < 1024 {
		s.lambdas.m[functionARN] = c
	}
	return c, nil
}
