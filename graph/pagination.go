package graph

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Page sizes of every connection.
const (
	PageSizeDefault = 50
	PageSizeMax     = 500
)

// pageSize validates a connection's `first` argument and returns how many rows to show.
func pageSize(first *int) (int, error) {
	if first == nil {
		return PageSizeDefault, nil
	}
	switch n := *first; {
	case n < 0:
		return 0, badInput("first must not be negative (got %d)", n)
	case n > PageSizeMax:
		return 0, badInput("first must be at most %d (got %d); page through larger sets with after", PageSizeMax, n)
	default:
		return n, nil
	}
}

// Cursor kinds: a cursor from one connection is refused by another.
const (
	cursorPayment  = "pay"
	cursorOrder    = "ord"
	cursorCustomer = "cus"

	// The back office's lists (backoffice.graphqls).
	cursorRefund      = "rfd"
	cursorErpPosting  = "erp"
	cursorDeadLetter  = "dlq" // deadLetters: oldest death first, unlike erpPostings
	cursorFraudReview = "frv"
	cursorAnomaly     = "ano"
	cursorMappingRule = "map"

	// Settlement reconciliation (settlement.graphqls).
	cursorSettlementBatch       = "stb" // (batch date, id), newest first
	cursorSettlementDiscrepancy = "std" // id, oldest first
	cursorSettlementLine        = "stl" // (batch id, line number): a batch's lines only
)

// timeCursor is a position in a list ordered by (time, id): descending (newest first), except
// deadLetters, which is ascending.
type timeCursor struct {
	At time.Time
	ID int64
}

func encodeTimeCursor(kind string, at time.Time, id int64) string {
	raw := kind + ":" + strconv.FormatInt(at.UnixMicro(), 10) + ":" + strconv.FormatInt(id, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeTimeCursor reads an `after` argument; nil when there is none.
func decodeTimeCursor(kind string, after *string) (*timeCursor, error) {
	if after == nil {
		return nil, nil
	}
	raw, err := decodeCursor(kind, *after)
	if err != nil {
		return nil, err
	}
	micros, id, ok := strings.Cut(raw, ":")
	if !ok {
		return nil, unknownCursor(*after)
	}
	us, err1 := strconv.ParseInt(micros, 10, 64)
	rowID, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || rowID <= 0 {
		return nil, unknownCursor(*after)
	}
	return &timeCursor{At: time.UnixMicro(us).UTC(), ID: rowID}, nil
}

func encodeKeyCursor(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key))
}

// decodeKeyCursor reads an `after` argument of a list ordered by a unique text key.
func decodeKeyCursor(kind string, after *string) (*string, error) {
	if after == nil {
		return nil, nil
	}
	key, err := decodeCursor(kind, *after)
	if err != nil {
		return nil, err
	}
	return &key, nil
}

// encodeKeysCursor is the cursor of a list ordered by a unique tuple of text columns (e.g. a
// mapping rule's kind, scope and key).
func encodeKeysCursor(kind string, keys ...string) string {
	raw, _ := json.Marshal(keys) // a []string always marshals
	return base64.RawURLEncoding.EncodeToString(append([]byte(kind+":"), raw...))
}

// decodeKeysCursor reads an `after` argument of encodeKeysCursor with n keys; nil when there is none.
func decodeKeysCursor(kind string, n int, after *string) ([]string, error) {
	if after == nil {
		return nil, nil
	}
	raw, err := decodeCursor(kind, *after)
	if err != nil {
		return nil, err
	}
	var keys []string
	if json.Unmarshal([]byte(raw), &keys) != nil || len(keys) != n {
		return nil, unknownCursor(*after)
	}
	return keys, nil
}

func decodeCursor(kind, cursor string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", unknownCursor(cursor)
	}
	gotKind, rest, ok := strings.Cut(string(raw), ":")
	if !ok || gotKind != kind || rest == "" {
		return "", unknownCursor(cursor)
	}
	return rest, nil
}

func unknownCursor(cursor string) error {
	const maxShown = 64
	if len(cursor) > maxShown {
		cursor = cursor[:maxShown] + "…"
	}
	return badInput("unknown cursor %q: pass the endCursor or an edge cursor this connection returned", cursor)
}
