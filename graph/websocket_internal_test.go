package graph

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// wsMessageType and wsMessage have the shape of gqlgen's graphql-transport-ws and graphql-ws
// messages, which appendDataMessage writes without encoding/json.
type wsMessageType string

func (t wsMessageType) MarshalText() ([]byte, error) { return []byte(t), nil }

type wsMessage struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    wsMessageType   `json:"type"`
	noOp    bool            //nolint:unused // as gqlgen's
}

// TestDataMessagesAreWrittenAsEncodingJSONWrites: for every payload gqlgen can hand the socket
// (json.Marshal of a graphql.Response), appendDataMessage writes the bytes gorilla's WriteJSON
// (a json.Encoder) would: HTML characters, U+2028/U+2029 and invalid UTF-8 in the data, map
// keys in any order, ids that need escaping (left to encoding/json), other message types.
func TestDataMessagesAreWrittenAsEncodingJSONWrites(t *testing.T) {
	datas := []string{
		`{"paymentEvents":{"id":"RXZlbnQ6MQ","payload":{"note":"<b>&amp; \u2028 \u2029 é"}}}`,
		"{\"e\":{\"raw\":\"<script>&</script> \xe2\x80\xa8 \xe2\x80\xa9\"}}",
		"{\"e\":{\"bad\":\"\xff\xfe \xc3\x28 \xed\xa0\x80\"}}",
		`{"z":1,"a":{"y":[1,2,{"b":null,"a":true}],"x":"\"quoted\" \\ back"},"m":"\u0000\u001f"}`,
		`{"e":null}`,
	}
	var payloads []json.RawMessage
	for _, d := range datas {
		resp := &graphql.Response{Data: json.RawMessage(d)}
		if d == `{"e":null}` {
			resp.Errors = gqlerror.List{{Message: "<bad> & \xff", Extensions: map[string]any{"z": 1, "a": "\u2028"}}}
			resp.Extensions = map[string]any{"k": "<v>"}
		}
		p, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("%q: %v", d, err)
		}
		payloads = append(payloads, p)
	}
	fastPath := 0
	for _, payload := range payloads {
		for _, id := range []string{"1", "plain-id_42", `odd <id> & "quotes"`, "é", "\x01"} {
			for _, typ := range []wsMessageType{"next", "data", "error", "complete", "ka"} {
				for _, msg := range []any{&wsMessage{Payload: payload, ID: id, Type: typ}, wsMessage{Payload: payload, ID: id, Type: typ}} {
					var want bytes.Buffer
					if err := json.NewEncoder(&want).Encode(msg); err != nil {
						t.Fatal(err)
					}
					got, ok := appendDataMessage(nil, msg)
					if !ok {
						continue // written by encoding/json itself
					}
					fastPath++
					if !bytes.Equal(got, want.Bytes()) {
						t.Errorf("type %s, id %q:\n got %q\nwant %q", typ, id, got, want.Bytes())
					}
				}
			}
		}
	}
	if want := len(payloads) * 2 * 2 * 2; fastPath != want { // ids "1" and "plain-id_42", next and data, pointer or not
		t.Errorf("%d messages took the fast path, want %d", fastPath, want)
	}
	for _, msg := range []any{nil, (*wsMessage)(nil), "next", &wsMessage{ID: "1", Type: "next"},
		&struct {
			ID      string          `json:"id,omitempty"`
			Payload json.RawMessage `json:"payload,omitempty"`
			Type    wsMessageType   `json:"type"`
		}{ID: "1", Payload: payloads[0], Type: "next"}} {
		if got, ok := appendDataMessage(nil, msg); ok {
			t.Errorf("%#v took the fast path: %q", msg, got)
		}
	}
}
