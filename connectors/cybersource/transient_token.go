package cybersource

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// TransientTokenLifetime is how long Cybersource keeps a transient token's card data: 15 minutes
// from issue, or until one successful authorization, whichever comes first.
const TransientTokenLifetime = 15 * time.Minute

// maxTransientTokenBytes bounds the text ParseTransientToken reads; real tokens are a few KB.
const maxTransientTokenBytes = 64 << 10

// TransientTokenInfo is what a Flex Microform (v2) or Unified Checkout transient token says about
// itself. None of it is sensitive card data: the number is masked. The JTI identifies the card data
// Cybersource holds for the token, so keep it out of logs as you would the token.
type TransientTokenInfo struct {
	// JTI is the token id (jti).
	JTI string
	// Issuer is iss ("Flex/08"…), Version the payload's type ("mf-2.0.0" for Microform v2).
	Issuer  string
	Version string
	// IssuedAt is iat (zero when absent); ExpiresAt is exp, always present.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// MaskedNumber is content.paymentInformation.card.number.maskedValue ("XXXXXXXXXXXX1111"),
	// BIN its bin (the first six digits, when the capture context asked for them) and LastFour the
	// digits the masked number ends with.
	MaskedNumber string
	BIN          string
	LastFour     string
	// CardType is Cybersource's card type code ("001" Visa, "002" Mastercard, "003" Amex…): the
	// card's type, else the first detected type. DetectedCardTypes are all the types the number
	// may be (more than one for a co-branded card).
	CardType          string
	DetectedCardTypes []string
	// ExpirationMonth ("01".."12") and ExpirationYear (four digits) are the card's expiry, when
	// the shopper's form sent it with the token.
	ExpirationMonth string
	ExpirationYear  string
}

// Expired reports whether the token can no longer be used at now (now is at or after exp).
func (i TransientTokenInfo) Expired(now time.Time) bool { return !now.Before(i.ExpiresAt) }

// ParseTransientToken decodes a transient token JWT (header.payload.signature, base64url) and
// returns the claims a hub can act on before calling the gateway: refuse an expired or malformed
// token, show the shopper the card's type and last four digits.
//
// It does NOT verify the signature. A transient token is signed (RS256) with the key of the
// capture context the storefront's Microform or Unified Checkout session was created with; the hub
// does not hold that context, and Cybersource checks the token itself when it is used. So treat
// the result as the token's own claims, not as proof: a forged token parses, and fails at the
// gateway. Only jti and exp are required; the card fields are empty when the token lacks them.
// Errors are ClassInvalidRequest and never contain the token's text.
func ParseTransientToken(jwt string) (TransientTokenInfo, error) {
	const op = "ParseTransientToken"
	bad := func(why string) (TransientTokenInfo, error) {
		return TransientTokenInfo{}, localError(op, ClassInvalidRequest, "transient token %s", why)
	}
	jwt = strings.TrimSpace(jwt)
	switch {
	case jwt == "":
		return bad("is empty")
	case len(jwt) > maxTransientTokenBytes:
		return bad("is too long to be a transient token")
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return bad("is not a JWT (three base64url parts separated by dots)")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeJWTPart(parts[0], &header); err != nil || header.Alg == "" {
		return bad("has no readable JWT header")
	}
	if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "=")); err != nil {
		return bad("has a signature that is not base64url")
	}
	var c transientClaims
	if err := decodeJWTPart(parts[1], &c); err != nil {
		return bad("has a payload that is not a transient token's JSON claims")
	}
	if strings.TrimSpace(c.JTI) == "" {
		return bad("has no jti claim")
	}
	exp, ok := c.Exp.time()
	if !ok {
		return bad("has no valid exp claim")
	}
	card := c.Content.PaymentInformation.Card
	info := TransientTokenInfo{
		JTI:               c.JTI,
		Issuer:            c.Iss,
		Version:           c.Type,
		ExpiresAt:         exp,
		MaskedNumber:      card.Number.MaskedValue.s,
		BIN:               card.Number.Bin.s,
		CardType:          card.Type.s,
		DetectedCardTypes: card.Number.DetectedCardTypes,
		ExpirationMonth:   card.ExpirationMonth.s,
		ExpirationYear:    card.ExpirationYear.s,
	}
	if iat, ok := c.Iat.time(); ok {
		info.IssuedAt = iat
	}
	if info.CardType == "" && len(info.DetectedCardTypes) > 0 {
		info.CardType = info.DetectedCardTypes[0]
	}
	if m := info.MaskedNumber; len(m) >= 4 && allDigits(m[len(m)-4:]) {
		info.LastFour = m[len(m)-4:]
	}
	return info, nil
}

// transientClaims is the payload of a Microform v2 / Unified Checkout transient token.
type transientClaims struct {
	Iss     string      `json:"iss"`
	Type    string      `json:"type"`
	JTI     string      `json:"jti"`
	Iat     numericDate `json:"iat"`
	Exp     numericDate `json:"exp"`
	Content struct {
		PaymentInformation struct {
			Card struct {
				Number struct {
					MaskedValue       tokenValue `json:"maskedValue"`
					Bin               tokenValue `json:"bin"`
					DetectedCardTypes []string   `json:"detectedCardTypes"`
				} `json:"number"`
				ExpirationMonth tokenValue `json:"expirationMonth"`
				ExpirationYear  tokenValue `json:"expirationYear"`
				Type            tokenValue `json:"type"`
			} `json:"card"`
		} `json:"paymentInformation"`
	} `json:"content"`
}

// tokenValue reads a claim sent as a string, a number or an object {"value": …}, the shapes
// transient tokens use for card fields.
type tokenValue struct{ s string }

func (v *tokenValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &v.s)
	case b[0] == '{':
		var o struct {
			Value tokenValue `json:"value"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		v.s = o.Value.s
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	v.s = n.String()
	return nil
}

// numericDate is a JWT NumericDate: seconds since the epoch, possibly fractional.
type numericDate struct {
	n   json.Number
	set bool
}

func (d *numericDate) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &d.n); err != nil {
		return err
	}
	d.set = true
	return nil
}

func (d numericDate) time() (time.Time, bool) {
	if !d.set {
		return time.Time{}, false
	}
	if i, err := d.n.Int64(); err == nil {
		return time.Unix(i, 0).UTC(), i > 0
	}
	f, err := d.n.Float64()
	if err != nil || f <= 0 || math.IsInf(f, 0) || f > math.MaxInt64/2 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// decodeJWTPart base64url-decodes one JWT part (padding tolerated) and unmarshals its JSON.
func decodeJWTPart(part string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
