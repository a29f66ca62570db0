package sma

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// newS3Server starts an S3-compatible server (gofakes3, in memory) with
// the given buckets and returns a store pointed at it.
func newS3Server(t *testing.T, buckets ...string) *S3 {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	st := NewS3(S3Config{Endpoint: srv.URL, Region: "us-east-1", AccessKeyID: "AKID", SecretAccessKey: "secret", PathStyle: true})
	for _, b := range buckets {
		if _, err := st.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &b}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestS3PromptsAndRecordings: prompts are read from S3 (re-read when the
// object changes, else the cached decode is used), recordings are written
// to S3, and a missing bucket or object is refused.
func TestS3PromptsAndRecordings(t *testing.T) {
	st := newS3Server(t, "prompts", "recordings")
	if err := st.put("prompts", "welcome.wav", EncodeWAV([]int16{1, 2, 3}, 8000)); err != nil {
		t.Fatal(err)
	}
	audio := &AudioStore{S3: st}
	src := AudioSource{Type: "S3", BucketName: "prompts", Key: "welcome.wav"}
	for range 2 { // the second load is answered 304 and uses the cache
		pcm, err := audio.Load(src)
		if err != nil || len(pcm) != 3 || pcm[2] != 3 {
			t.Fatalf("load: %v %v", pcm, err)
		}
	}
	if err := st.put("prompts", "welcome.wav", EncodeWAV([]int16{7, 7, 7, 7}, 8000)); err != nil {
		t.Fatal(err)
	}
	if pcm, err := audio.Load(src); err != nil || len(pcm) != 4 {
		t.Fatalf("after the object changed: %v %v", pcm, err)
	}
	if _, err := audio.Load(AudioSource{Type: "S3", BucketName: "prompts", Key: "missing.wav"}); err == nil {
		t.Fatal("a missing object loaded")
	}
	if err := st.put("prompts", "text.wav", []byte("not audio")); err != nil {
		t.Fatal(err)
	}
	if _, err := audio.Load(AudioSource{Type: "S3", BucketName: "prompts", Key: "text.wav"}); err == nil {
		t.Fatal("a text file loaded as a prompt")
	}

	recs := &RecordingStore{S3: st}
	if recs.ok("nope") || !recs.ok("recordings") {
		t.Fatal("bucket checks")
	}
	if err := recs.Put("recordings", "calls/a-1.wav", EncodeWAV([]int16{5, 6}, 8000)); err != nil {
		t.Fatal(err)
	}
	b, _, err := st.get("recordings", "calls/a-1.wav", "", maxAudioBytes)
	if err != nil {
		t.Fatal(err)
	}
	if pcm, err := decodeWAV(b); err != nil || len(pcm) != 2 || pcm[1] != 6 {
		t.Fatalf("recording read back: %v %v", pcm, err)
	}
}
