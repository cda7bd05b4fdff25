package model

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Type names used in global IDs; they are the GraphQL type names.
const (
	TypePayment  = "Payment"
	TypeOrder    = "Order"
	TypeCustomer = "Customer"
)

// ErrInvalidID reports a global ID that this API did not issue.
var ErrInvalidID = errors.New("invalid ID")

// EncodeGlobalID makes the opaque Relay ID of a row: base64url("<Type>:<row id>").
func EncodeGlobalID(typeName string, rowID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typeName + ":" + strconv.FormatInt(rowID, 10)))
}

// DecodeGlobalID splits a global ID into its type name and row id.
func DecodeGlobalID(id string) (typeName string, rowID int64, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", 0, ErrInvalidID
	}
	typeName, num, ok := strings.Cut(string(raw), ":")
	if !ok || typeName == "" {
		return "", 0, ErrInvalidID
	}
	rowID, err = strconv.ParseInt(num, 10, 64)
	if err != nil || rowID <= 0 {
		return "", 0, ErrInvalidID
	}
	return typeName, rowID, nil
}
