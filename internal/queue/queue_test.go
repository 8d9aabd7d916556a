package queue

import (
	"testing"
	"time"
)

func TestSQSAttributes(t *testing.T) {
	n, at := SQSAttributes(map[string]string{"ApproximateReceiveCount": "3", "SentTimestamp": "1764547200123"})
	if n != 3 || !at.Equal(time.UnixMilli(1764547200123)) || at.Location() != time.UTC {
		t.Errorf("SQSAttributes = %d, %v", n, at)
	}
	if n, at := SQSAttributes(map[string]string{"SentTimestamp": "soon"}); n != 0 || !at.IsZero() {
		t.Errorf("missing and malformed attributes: %d, %v", n, at)
	}
}
