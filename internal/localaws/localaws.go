// Package localaws answers the two AWS calls the functions make on the pipeline — SQS
// SendMessage (ingest) and EventBridge PutEvents (worker, enrich) — over AWS's JSON wire
// protocol, onto the local pipeline's in-memory queue and bus. So a function running as a
// process under the Lambda emulator, with AWS_ENDPOINT_URL pointing here, queues and
// publishes into `peerbridge serve` as it would into SQS and EventBridge.
//
// Any other call is answered with an error naming it: the local pipeline has nothing
// else (a function that reads Secrets Manager needs its plain value in the environment).
package localaws

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus"
	"github.com/peerbridge/peerbridge/internal/queue"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Handler serves the wire protocol. Queues maps a queue URL or name to its queue; Buses
// maps a bus name (or ARN) to its bus, "default" included if wanted.
type Handler struct {
	Queues map[string]queue.Sender
	Buses  map[string]bus.Putter
}

// maxRequestBytes bounds a request: SQS and EventBridge take at most 256 KiB of payload,
// JSON-escaped in the request.
const maxRequestBytes = 2 << 20

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || target == "" {
		writeError(w, http.StatusBadRequest, "UnknownOperationException",
			"this is peerbridge's local AWS endpoint: it answers SQS SendMessage and EventBridge PutEvents (JSON protocol) only")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	switch target {
	case "AmazonSQS.SendMessage":
		h.sendMessage(w, r, body)
	case "AWSEvents.PutEvents":
		h.putEvents(w, r, body)
	default:
		writeError(w, http.StatusBadRequest, "UnknownOperationException",
			fmt.Sprintf("%s is not served locally: only AmazonSQS.SendMessage and AWSEvents.PutEvents are (give a function plain values, not secrets, in --env-vars)", target))
	}
}

func (h *Handler) sendMessage(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		QueueURL    string `json:"QueueUrl"`
		MessageBody string `json:"MessageBody"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidParameterValue", "SendMessage: "+err.Error())
		return
	}
	q := h.Queues[in.QueueURL]
	if q == nil {
		q = h.Queues[in.QueueURL[strings.LastIndexByte(in.QueueURL, '/')+1:]]
	}
	if q == nil {
		writeError(w, http.StatusBadRequest, "AWS.SimpleQueueService.NonExistentQueue",
			fmt.Sprintf("no local queue %q: give the function QUEUE_URL=%s", in.QueueURL, strings.Join(slices.Sorted(maps.Keys(h.Queues)), " or ")))
		return
	}
	if err := q.Send(r.Context(), in.MessageBody); err != nil {
		status, code := http.StatusInternalServerError, "InternalError"
		if errors.Is(err, queue.ErrTooLarge) {
			status, code = http.StatusBadRequest, "InvalidParameterValue"
		}
		writeError(w, status, code, err.Error())
		return
	}
	sum := md5.Sum([]byte(in.MessageBody)) // the SDK checks it
	writeJSON(w, map[string]string{"MessageId": peerdom.NewDeliveryID(), "MD5OfMessageBody": hex.EncodeToString(sum[:])})
}

func (h *Handler) putEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		Entries []struct {
			Source, DetailType, Detail, EventBusName string
			Resources                                []string
			Time                                     *float64 // epoch seconds
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "ValidationException", "PutEvents: "+err.Error())
		return
	}
	// One call goes to one bus here: the functions put every entry of a call on theirs.
	name := "default"
	if len(in.Entries) > 0 && in.Entries[0].EventBusName != "" {
		name = in.Entries[0].EventBusName
	}
	b := h.Buses[name]
	if b == nil {
		b = h.Buses[name[strings.LastIndexByte(name, '/')+1:]]
	}
	if b == nil {
		writeError(w, http.StatusBadRequest, "ResourceNotFoundException",
			fmt.Sprintf("no local event bus %q: give the function EVENT_BUS_NAME=%s", name, strings.Join(slices.Sorted(maps.Keys(h.Buses)), " or ")))
		return
	}
	entries := make([]bus.Entry, len(in.Entries))
	for i, e := range in.Entries {
		entries[i] = bus.Entry{Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, Resources: e.Resources}
		if e.Time != nil {
			entries[i].Time = time.Unix(0, int64(*e.Time*float64(time.Second)))
		}
	}
	results, err := b.PutEvents(r.Context(), entries)
	if err != nil {
		writeError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	type entryOut struct {
		EventID      string `json:"EventId,omitempty"`
		ErrorCode    string `json:",omitempty"`
		ErrorMessage string `json:",omitempty"`
	}
	out := struct {
		FailedEntryCount int
		Entries          []entryOut
	}{Entries: make([]entryOut, len(results))}
	for i, res := range results {
		out.Entries[i] = entryOut{EventID: res.EventID, ErrorCode: res.ErrorCode, ErrorMessage: res.ErrorMessage}
		if res.Err() != nil {
			out.FailedEntryCount++
		}
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
}
