package sma

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// S3 keeps prompts and recordings in an S3-compatible object store
// (aws-sdk-go-v2 service/s3) instead of local directories.
type S3 struct {
	client  *s3.Client
	timeout time.Duration
}

// S3Config configures S3.
type S3Config struct {
	// Endpoint is the store's URL (e.g. http://127.0.0.1:8333); empty:
	// AWS's for Region.
	Endpoint string
	Region   string
	// AccessKeyID and SecretAccessKey; empty: anonymous requests.
	AccessKeyID, SecretAccessKey string
	// PathStyle addresses buckets as /<bucket>/<key> (most S3-compatible
	// servers want it).
	PathStyle bool
	// HTTPClient makes the requests; nil: the SDK's.
	HTTPClient *http.Client
}

// s3Timeout bounds one S3 request.
const s3Timeout = 10 * time.Second

// NewS3 returns the store of c.
func NewS3(c S3Config) *S3 {
	cfg := aws.Config{Region: c.Region, Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if c.AccessKeyID != "" {
		cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""))
	}
	if c.HTTPClient != nil {
		cfg.HTTPClient = c.HTTPClient
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
	})
	return &S3{client: client, timeout: s3Timeout}
}

// errNotModified: the object still has the ETag asked about.
var errNotModified = errors.New("sma: not modified")

// get reads bucket/key, at most max bytes, unless its ETag is etag
// (errNotModified); it returns the data and its ETag.
func (s *S3) get(bucket, key, etag string, max int64) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
	if etag != "" {
		in.IfNoneMatch = &etag
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotModified {
			return nil, etag, errNotModified
		}
		return nil, "", err
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength > max {
		return nil, "", fmt.Errorf("object of %d bytes", *out.ContentLength)
	}
	b, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(b)) > max {
		return nil, "", fmt.Errorf("object over %d bytes", max)
	}
	return b, aws.ToString(out.ETag), nil
}

// put writes bucket/key.
func (s *S3) put(bucket, key string, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String("audio/wav")})
	return err
}

// bucketExists reports whether the bucket exists (and is reachable).
func (s *S3) bucketExists(bucket string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	return err == nil
}
