package opayosim

import (
	"net/http"
	"strings"
	"time"
)

// cardIdentifier is a tokenised card (opayo.md §2.3). The card number is reduced to its issuer
// profile and last four digits on creation; the security code is held only until a transaction
// uses it.
type cardIdentifier struct {
	id           string
	msk          string
	expiry       time.Time
	card         cardInfo
	securityCode string
	reusable     bool
	consumed     bool // an unsaved identifier serves one transaction
}

// usable reports whether a transaction may still charge the identifier.
func (c *cardIdentifier) usable(now time.Time) bool {
	if c == nil {
		return false
	}
	if c.reusable {
		return true
	}
	return !c.consumed && now.Before(c.expiry)
}

type cardDetailsRequest struct {
	CardDetails *struct {
		CardholderName string `json:"cardholderName"`
		CardNumber     string `json:"cardNumber"`
		ExpiryDate     string `json:"expiryDate"`
		Expiry         string `json:"expiry"`
		SecurityCode   string `json:"securityCode"`
	} `json:"cardDetails"`
}

type cardIdentifierView struct {
	CardIdentifier string `json:"cardIdentifier"`
	Expiry         string `json:"expiry"`
	CardType       string `json:"cardType"`
}

// mskFromBearer resolves the Bearer merchant session key of a card identifier request. A missing
// header answers 401/1001; an unknown, expired, removed or (when fresh) already used key 401/1002.
func (s *Server) mskFromBearer(r *http.Request, now time.Time, fresh bool) (*merchantSessionKey, *piReply) {
	tok, ok := bearerToken(r)
	if !ok {
		rep := piFailure(http.StatusUnauthorized, 1001)
		return nil, &rep
	}
	m := s.msks[tok]
	if !m.live(now) || (fresh && m.used) {
		rep := piFailure(http.StatusUnauthorized, 1002)
		return nil, &rep
	}
	return m, nil
}

// createCardIdentifier answers POST /card-identifiers (Bearer merchant session key).
func (s *Server) createCardIdentifier(w http.ResponseWriter, r *http.Request) {
	var req cardDetailsRequest
	bodyErr := decodePiBody(r, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	m, rep := s.mskFromBearer(r, now, true)
	if rep != nil {
		writePiReply(w, *rep)
		return
	}
	if bodyErr != nil {
		s.failCardAttempt(m)
		writePiReply(w, *bodyErr)
		return
	}
	card, securityCode, errs := validateCardDetails(req, now)
	if len(errs) > 0 {
		s.failCardAttempt(m)
		writePiReply(w, piInvalid(errs))
		return
	}
	c := &cardIdentifier{id: newGUID(), msk: m.key, expiry: now.Add(CardIdentifierLifetime), card: card, securityCode: securityCode}
	c.card.cardIdentifier = c.id
	s.cards[c.id] = c
	m.used = true
	writePiReply(w, piReply{http.StatusCreated, cardIdentifierView{c.id, piTime(c.expiry), card.cardType}})
}

// failCardAttempt counts a failed card identifier attempt; the third removes the key.
func (s *Server) failCardAttempt(m *merchantSessionKey) {
	m.failures++
	if m.failures >= MerchantSessionKeyMaxFailures {
		m.removed = true
	}
}

// validateCardDetails checks cardDetails the way Pi does and reduces the card to what the gateway
// keeps. It returns the security code separately (or "").
func validateCardDetails(req cardDetailsRequest, now time.Time) (cardInfo, string, violations) {
	var v violations
	if req.CardDetails == nil {
		v.add(1003, "cardDetails", "The card details are required")
		return cardInfo{}, "", v
	}
	d := req.CardDetails
	expiry := d.ExpiryDate
	if expiry == "" {
		expiry = d.Expiry
	}
	if v.required(d.CardholderName, "cardDetails.cardholderName", "cardholder name") {
		v.maxLen(d.CardholderName, 45, "cardDetails.cardholderName", "cardholder name")
	}
	var profile cardProfile
	pan := strings.TrimSpace(d.CardNumber)
	if v.required(pan, "cardDetails.cardNumber", "card number") {
		var check cardCheck
		profile, check = profileFor(pan)
		switch check {
		case cardNotNumeric:
			v.add(1005, "cardDetails.cardNumber", "The card number contains invalid characters")
		case cardFailsLuhn:
			v.add(1007, "cardDetails.cardNumber", "The card number is invalid")
		case cardUnsupported:
			v.add(1008, "cardDetails.cardNumber", "The card type is not supported")
		}
	}
	if v.required(expiry, "cardDetails.expiryDate", "expiry date") {
		ok, expired := parseExpiry(expiry, now)
		switch {
		case !ok:
			v.add(1005, "cardDetails.expiryDate", "The expiry date has to be in MMYY format")
		case expired:
			v.add(1009, "cardDetails.expiryDate", "The card has expired")
		}
	}
	if d.SecurityCode != "" && !validSecurityCode(d.SecurityCode) {
		v.add(1005, "cardDetails.securityCode", "The security code must be 3 or 4 digits")
	}
	if len(v) > 0 {
		return cardInfo{}, "", v
	}
	return cardInfo{
		profile:    profile,
		cardType:   profile.CardType,
		last4:      lastFour(pan),
		expiry:     expiry,
		cardholder: d.CardholderName,
	}, d.SecurityCode, nil
}

// linkSecurityCode answers POST /card-identifiers/{id}/security-code (Bearer merchant session key):
// it links a CVV to a card identifier for its next transaction and answers 204.
func (s *Server) linkSecurityCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SecurityCode string `json:"securityCode"`
	}
	bodyErr := decodePiBody(r, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	m, rep := s.mskFromBearer(r, now, false)
	if rep != nil {
		writePiReply(w, *rep)
		return
	}
	if bodyErr != nil {
		writePiReply(w, *bodyErr)
		return
	}
	var v violations
	if v.required(req.SecurityCode, "securityCode", "security code") && !validSecurityCode(req.SecurityCode) {
		v.add(1005, "securityCode", "The security code must be 3 or 4 digits")
	}
	c := s.cards[r.PathValue("id")]
	if !c.usable(now) {
		v.add(1011, "cardIdentifier", "The card identifier is invalid")
	}
	if len(v) > 0 {
		writePiReply(w, piInvalid(v))
		return
	}
	c.securityCode = req.SecurityCode
	m.used = true
	w.WriteHeader(http.StatusNoContent)
}

// deleteCardIdentifier answers DELETE /card-identifiers/{id} (Basic): 200 with an empty body, or
// 404 for an unknown identifier.
func (s *Server) deleteCardIdentifier(w http.ResponseWriter, r *http.Request) {
	if rep := s.basicAuth(r); rep != nil {
		writePiReply(w, *rep)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	if _, ok := s.cards[id]; !ok {
		writePiReply(w, piFailure(http.StatusNotFound, 1011))
		return
	}
	delete(s.cards, id)
	w.WriteHeader(http.StatusOK)
}
