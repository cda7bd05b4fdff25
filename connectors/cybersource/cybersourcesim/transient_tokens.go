package cybersourcesim

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Flex transient tokens (Microform v2, Unified Checkout). In production the shopper's browser
// sends the card to Cybersource and gets back a transient token, a JWT the merchant's server puts
// in tokenInformation.transientTokenJwt instead of card data. POST /_sim/transient-tokens stands
// in for the browser and Microform; the simulator keeps the card behind the token's jti.

const (
	// TransientTokenLifetime is how long a transient token can be used: exp = iat + 15 minutes.
	TransientTokenLifetime = 15 * time.Minute
	// TransientTokenKeyID is the kid of every transient token the simulator issues.
	TransientTokenKeyID = "sim-flex-1"
	// TransientTokenIssuer is the iss claim, as Microform v2 tokens carry it.
	TransientTokenIssuer = "Flex/08"
	// transientTokenVersion is the payload's type claim for Microform v2.
	transientTokenVersion = "mf-2.0.0"
	// fieldTransientToken names the request field in error details.
	fieldTransientToken = "tokenInformation.transientTokenJwt"
	// jtiAlphabet and jtiLength shape a jti like Cybersource's: 64 upper-case letters and digits.
	jtiAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	jtiLength   = 64
)

// TransientTokenRequest is the card a shopper typed into the payment form: the body of POST
// /_sim/transient-tokens. Type is optional and must match the number's BIN when sent.
type TransientTokenRequest struct {
	Number          string `json:"number"`
	ExpirationMonth string `json:"expirationMonth"`
	ExpirationYear  string `json:"expirationYear"`
	SecurityCode    string `json:"securityCode"`
	Type            string `json:"type"`
}

// IssuedTransientToken is the answer of POST /_sim/transient-tokens.
type IssuedTransientToken struct {
	// TransientToken is the JWT to send as tokenInformation.transientTokenJwt.
	TransientToken string    `json:"transientToken"`
	JTI            string    `json:"jti"`
	ExpiresAt      time.Time `json:"expiresAt"`
}

// TransientToken is an issued token as State shows it: the card masked, never its number or
// security code.
type TransientToken struct {
	JTI       string      `json:"jti"`
	Card      CardSummary `json:"card"`
	IssuedAt  time.Time   `json:"issuedAt"`
	ExpiresAt time.Time   `json:"expiresAt"`
	// UsedBy is the authorization that consumed the token.
	UsedBy string `json:"usedBy,omitempty"`
}

// transientToken is an issued token with the card data behind it. The number and security code
// are dropped as soon as the token is used for an authorization or found expired.
type transientToken struct {
	TransientToken
	pan, securityCode string
}

// errTransientTokenCard is the refusal of a card POST /_sim/transient-tokens cannot tokenize.
type errTransientTokenCard string

func (e errTransientTokenCard) Error() string { return string(e) }

// IssueTransientToken tokenizes a card as Microform would and returns the transient token, like
// POST /_sim/transient-tokens. The error never contains the card number.
func (s *Server) IssueTransientToken(req TransientTokenRequest) (IssuedTransientToken, error) {
	pan := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(req.Number))
	if !allDigits(pan) || len(pan) < 12 || len(pan) > 19 {
		return IssuedTransientToken{}, errTransientTokenCard("number must be 12 to 19 digits")
	}
	brand, ok := detectBrand(pan)
	if !ok {
		return IssuedTransientToken{}, errTransientTokenCard("the card type is not accepted (Visa, Mastercard, Amex and Discover are)")
	}
	if typ := strings.TrimSpace(req.Type); typ != "" {
		if b, known := brandByType[typ]; !known || b != brand {
			return IssuedTransientToken{}, errTransientTokenCard("type " + strconv.Quote(typ) + " does not match the card number's BIN (" + brand.typ + ")")
		}
	}
	month, year, ok := normalizeExpiry(req.ExpirationMonth, req.ExpirationYear)
	if !ok {
		return IssuedTransientToken{}, errTransientTokenCard("expirationMonth (01-12) and expirationYear (YYYY) are required")
	}
	cvn := strings.TrimSpace(req.SecurityCode)
	if cvn != "" && (!allDigits(cvn) || len(cvn) != brand.cvnLen) {
		return IssuedTransientToken{}, errTransientTokenCard("securityCode must be " + strconv.Itoa(brand.cvnLen) + " digits for this card type")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.sweepTransientTokens(now)
	iat := now.Unix()
	exp := iat + int64(TransientTokenLifetime/time.Second)
	tt := &transientToken{
		TransientToken: TransientToken{
			JTI: s.newJTI(), Card: summarize(pan, brand, month, year),
			IssuedAt: time.Unix(iat, 0).UTC(), ExpiresAt: time.Unix(exp, 0).UTC(),
		},
		pan: pan, securityCode: cvn,
	}
	st := s.state
	st.transientTokens[tt.JTI] = tt
	st.transientTokenOrder = append(st.transientTokenOrder, tt.JTI)

	cardClaims := obj{
		"number": obj{
			"detectedCardTypes": []string{brand.typ},
			"maskedValue":       strings.Repeat("X", len(pan)-4) + tt.Card.Suffix,
			"bin":               tt.Card.Prefix,
		},
		"expirationMonth": obj{"value": month},
		"expirationYear":  obj{"value": year},
	}
	if cvn != "" {
		cardClaims["securityCode"] = obj{}
	}
	payload := obj{
		"iss": TransientTokenIssuer, "type": transientTokenVersion, "iat": iat, "exp": exp, "jti": tt.JTI,
		"content": obj{"paymentInformation": obj{"card": cardClaims}},
	}
	return IssuedTransientToken{TransientToken: s.signTransientToken(payload), JTI: tt.JTI, ExpiresAt: tt.ExpiresAt}, nil
}

// signTransientToken builds the JWT. The header says RS256 like a real token's, but the signature
// is an HMAC-SHA256 under a key only this simulator holds: nobody else can verify it, and the
// simulator uses it to tell its own tokens from altered or forged ones.
func (s *Server) signTransientToken(payload obj) string {
	header, _ := json.Marshal(obj{"kid": TransientTokenKeyID, "alg": "RS256"})
	body, _ := json.Marshal(payload)
	signingInput := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(body)
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(hmacSHA256(s.flexKey, []byte(signingInput)))
}

// newJTI returns a random 64-character jti. The caller holds s.mu.
func (s *Server) newJTI() string {
	b := make([]byte, jtiLength)
	for i := range b {
		b[i] = jtiAlphabet[s.rng.IntN(len(jtiAlphabet))]
	}
	return string(b)
}

// sweepTransientTokens drops the card data of expired tokens; the masked entries stay so that a
// late use answers "expired". The caller holds s.mu.
func (s *Server) sweepTransientTokens(now time.Time) {
	for _, tt := range s.state.transientTokens {
		if tt.pan != "" && !now.Before(tt.ExpiresAt) {
			tt.forget()
		}
	}
}

// forget drops the card number and security code.
func (tt *transientToken) forget() { tt.pan, tt.securityCode = "", "" }

// redeemTransientToken finds the token a payment sent and checks it can pay: a well-formed JWT,
// issued by this simulator and unaltered, not used for an authorization yet, not expired. Every
// refusal is a 400 INVALID_DATA naming tokenInformation.transientTokenJwt; none repeats the token.
// The caller holds s.mu.
func (s *Server) redeemTransientToken(now time.Time, text string) (*transientToken, *apiError) {
	parts := strings.Split(text, ".")
	var header struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
	}
	var claims struct {
		JTI string          `json:"jti"`
		Exp json.RawMessage `json:"exp"`
	}
	if len(parts) != 3 || decodeJWTPart(parts[0], &header) != nil || header.Alg == "" ||
		decodeJWTPart(parts[1], &claims) != nil || claims.JTI == "" || len(claims.Exp) == 0 {
		return nil, invalidField(now, fieldTransientToken, "is not a well-formed transient token (JWT)")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	tt := s.state.transientTokens[claims.JTI]
	if err != nil || tt == nil || header.Kid != TransientTokenKeyID || !hmac.Equal(sig, hmacSHA256(s.flexKey, []byte(parts[0]+"."+parts[1]))) {
		return nil, invalidField(now, fieldTransientToken, "is not a transient token issued to this merchant")
	}
	if tt.UsedBy != "" {
		e := invalidField(now, fieldTransientToken, "has already been used for an authorization")
		e.transientTokenUsed = true
		return nil, e
	}
	if !now.Before(tt.ExpiresAt) {
		tt.forget()
		return nil, invalidField(now, fieldTransientToken, "has expired (transient tokens live 15 minutes)")
	}
	return tt, nil
}

// consumeTransientToken marks the token used by the authorization t and drops its card data. The
// caller holds s.mu.
func (s *Server) consumeTransientToken(jti string, t *Transaction) {
	if tt := s.state.transientTokens[jti]; tt != nil {
		tt.UsedBy = t.ID
		tt.forget()
	}
}

// decodeJWTPart base64url-decodes one JWT part and unmarshals its JSON.
func decodeJWTPart(part string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// handleSimTransientToken is POST /_sim/transient-tokens {"number","expirationMonth",
// "expirationYear","securityCode","type"}: 201 {"transientToken","jti","expiresAt"}.
func (s *Server) handleSimTransientToken(w http.ResponseWriter, r *http.Request) {
	var req TransientTokenRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"error": "bad transient token JSON: expected {\"number\",\"expirationMonth\",\"expirationYear\",\"securityCode\",\"type\"}"})
		return
	}
	issued, err := s.IssueTransientToken(req)
	if err != nil { // always an errTransientTokenCard
		writeJSON(w, http.StatusBadRequest, obj{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, issued)
}
