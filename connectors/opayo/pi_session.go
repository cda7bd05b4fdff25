package opayo

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// MerchantSessionKey authorises card-identifier calls for 400 seconds: one successful card
// identifier, or three failed attempts (opayo.md §2.2). It is a short-lived bearer credential
// meant for the shopper's browser; it is not a Secret, but it is not logged here either.
type MerchantSessionKey struct {
	// Key is the merchantSessionKey, e.g. "M1E996F5-A9BC-41FE-B088-E5B73DB94277".
	Key string
	// Expiry is when Opayo stops accepting it; zero when Opayo's date could not be read.
	Expiry time.Time
}

type wireMSK struct {
	MerchantSessionKey string `json:"merchantSessionKey"`
	Expiry             string `json:"expiry"`
}

// CreateMerchantSessionKey obtains a merchant session key for the configured vendor
// (POST /merchant-session-keys, Basic auth).
func (c *Client) CreateMerchantSessionKey(ctx context.Context) (*MerchantSessionKey, error) {
	const op = "CreateMerchantSessionKey"
	ans, err := c.doPi(ctx, piCall{op: op, method: http.MethodPost, path: "/merchant-session-keys",
		body: map[string]string{"vendorName": c.cfg.Vendor}})
	if err != nil {
		return nil, err
	}
	return decodeMSK(op, ans)
}

// CheckMerchantSessionKey reports a key's expiry (GET /merchant-session-keys/{key}); an
// unknown or expired key is a ClassNotFound error (1006).
func (c *Client) CheckMerchantSessionKey(ctx context.Context, key string) (*MerchantSessionKey, error) {
	const op = "CheckMerchantSessionKey"
	if key == "" {
		return nil, invalidRequest(op, "merchant session key is empty")
	}
	ans, err := c.doPi(ctx, piCall{op: op, method: http.MethodGet, path: "/merchant-session-keys/" + pathSegment(key)})
	if err != nil {
		return nil, err
	}
	return decodeMSK(op, ans)
}

func decodeMSK(op string, ans piAnswer) (*MerchantSessionKey, error) {
	var w wireMSK
	if err := json.Unmarshal(ans.body, &w); err != nil {
		return nil, decodeError(op, ans.status, err)
	}
	if w.MerchantSessionKey == "" {
		return nil, &Error{Class: ClassTransient, Op: op, HTTPStatus: ans.status, Message: "response has no merchantSessionKey"}
	}
	return &MerchantSessionKey{Key: w.MerchantSessionKey, Expiry: parsePiTime(w.Expiry)}, nil
}
