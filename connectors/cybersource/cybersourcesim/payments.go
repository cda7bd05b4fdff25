package cybersourcesim

import (
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// handleCreatePayment is POST /pts/v2/payments: an authorization, or a sale with
// processingInformation.capture=true (protocol doc §3).
func (s *Server) handleCreatePayment(w http.ResponseWriter, r *http.Request, body []byte) {
	var req paymentRequest
	if e := decodeJSON(s.clock.Now(), body, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	t, e := s.createPayment(&req)
	var out obj
	if t != nil {
		out = paymentBody(t)
	}
	s.mu.Unlock()
	switch {
	case e != nil:
		writeAPIError(w, e)
	default:
		writeHAL(w, http.StatusCreated, out)
	}
}

// createPayment validates and runs one payment. It returns the transaction when one was created;
// an error with a transaction is the SERVER_TIMEOUT card, whose payment exists although the
// answer is a 502. The caller holds s.mu.
func (s *Server) createPayment(req *paymentRequest) (*Transaction, *apiError) {
	now := s.clock.Now()
	code := strings.TrimSpace(req.ClientReferenceInformation.Code)
	src, billTo, amount, currency, e := s.readCharge(now, req)
	if e != nil {
		if e.transientTokenUsed && s.isDuplicatePayment(code, now) {
			// The retry of a payment that used the token (say after a SERVER_TIMEOUT) is a
			// duplicate, as it would be with card data, so the caller knows the payment exists.
			return nil, invalidRequest(now, reasonDuplicateRequest, messageDuplicateRequest)
		}
		return nil, e
	}
	if src.pan == CardSystemError {
		return nil, serverError(now, reasonSystemError)
	}
	shipTo, lineItems, e := readOrderData(now, req.OrderInformation, currency)
	if e != nil {
		return nil, e
	}
	if s.isDuplicatePayment(code, now) {
		return nil, invalidRequest(now, reasonDuplicateRequest, messageDuplicateRequest)
	}

	out := authorize(now, src, billTo, req)
	summary := summarize(src.pan, src.brand, src.month, src.year)
	t := &Transaction{
		ID:                  s.newTransactionID(now),
		Kind:                KindAuthorization,
		Status:              out.status,
		Reason:              out.reason,
		ReasonCode:          out.reasonCode,
		MerchantID:          s.opts.MerchantID,
		ClientReferenceCode: code,
		ClientTransactionID: strings.TrimSpace(req.ClientReferenceInformation.TransactionID),
		SubmitTime:          now,
		Currency:            currency,
		Amount:              amount,
		ReconciliationID:    s.newReconciliationID(),
		Card:                &summary,
		BillTo:              billTo,
		ShipTo:              shipTo,
		LineItems:           lineItems,
		ResponseCode:        out.responseCode,
		AVSCode:             out.avs,
		CVNCode:             out.cvn,
		Risk:                out.risk,
		CaptureRequested:    req.ProcessingInformation.Capture,
		CustomerID:          src.customerID,
		PaymentInstrumentID: src.paymentInstrumentID,

		InstrumentIdentifierID: src.instrumentIdentifierID,
		TransientTokenJTI:      src.transientTokenJTI,
	}
	t.RootID = t.ID
	t.Applications = append(t.Applications, authApplication(out, t.ReconciliationID))
	if out.approved && src.transientTokenJTI != "" {
		// A transient token serves one successful authorization; a decline leaves it usable.
		s.consumeTransientToken(src.transientTokenJTI, t)
	}
	if out.approved {
		t.AuthorizedAmount = amount
		t.ApprovalCode = s.newApprovalCode()
		t.NetworkTransactionID = s.newNetworkTransactionID()
	}
	if out.risk != nil {
		t.Applications = append(t.Applications, decisionApplication(out.risk.Decision))
	}
	switch {
	case out.status == StatusAuthorized && req.ProcessingInformation.Capture:
		t.Kind = KindSale
		t.CapturedAmount = amount
		t.SettlementStatus = SettlementPending
		t.Applications = append(t.Applications, okApplication("ics_bill", SettlementPending, t.ReconciliationID))
	case out.status == StatusAuthorizedRiskDeclined:
		// Decision Manager rejected an approved authorization: the gateway reverses it itself.
		t.Reversed = true
		t.ReversedAmount = amount
		t.Applications = append(t.Applications, okApplication("ics_auth_reversal", "", t.ReconciliationID))
	}
	if out.approved && out.status != StatusAuthorizedRiskDeclined && req.ProcessingInformation.has("TOKEN_CREATE") && src.rawCard {
		s.createPaymentTokens(now, t, src, billTo, req.ProcessingInformation.ActionTokenTypes)
	}
	s.state.add(t)
	if out.risk != nil && out.risk.Decision == DecisionReview {
		s.openReview(now, t)
	}

	switch out.status {
	case StatusAuthorized:
		s.notify(EventAuthorizationAccepted, t)
		if t.Kind == KindSale {
			s.notify(EventCaptureAccepted, t)
		}
	case StatusAuthorizedPendingReview:
		s.notify(EventAuthorizationReviewed, t)
	default:
		s.notify(EventAuthorizationRejected, t)
	}
	if src.pan == CardServerTimeout {
		return t, serverError(now, reasonServerTimeout)
	}
	return t, nil
}

// Payment statuses (PtsV2PaymentsPost201Response.status) and follow-on statuses.
const (
	StatusAuthorized              = "AUTHORIZED"
	StatusAuthorizedPendingReview = "AUTHORIZED_PENDING_REVIEW"
	StatusAuthorizedRiskDeclined  = "AUTHORIZED_RISK_DECLINED"
	StatusDeclined                = "DECLINED"
	StatusPending                 = "PENDING"
	StatusVoided                  = "VOIDED"
	StatusReversed                = "REVERSED"
)

// Decision Manager decisions.
const (
	DecisionAccept = "ACCEPT"
	DecisionReview = "REVIEW"
	DecisionReject = "REJECT"
)

// chargeSource is the card a payment or credit charges, from the request or from TMS tokens. The
// card number lives only here, for the duration of the request.
type chargeSource struct {
	pan                    string
	brand                  cardBrand
	month, year            string
	securityCode           string
	billTo                 *Address
	rawCard                bool
	customerID             string
	paymentInstrumentID    string
	instrumentIdentifierID string
	// transientTokenJTI is the Flex transient token the card came from.
	transientTokenJTI string
}

// readCharge validates what a payment or credit must carry: amount and currency, a card (or
// token) with its expiry, and for a raw card the billTo fields. Every missing field is named in
// one MISSING_FIELD answer. The caller holds s.mu.
func (s *Server) readCharge(now time.Time, req *paymentRequest) (*chargeSource, *Address, decimal.Decimal, string, *apiError) {
	var missing []string
	amount, currency, amountErr := readAmount(now, "orderInformation.amountDetails", req.OrderInformation.AmountDetails, &missing)
	src, srcErr := s.resolveSource(now, req.PaymentInformation, req.TokenInformation, &missing)
	var billTo *Address
	if req.OrderInformation.BillTo != nil {
		b := *req.OrderInformation.BillTo
		billTo = &b
	} else if src != nil && src.billTo != nil {
		b := *src.billTo
		billTo = &b
	}
	if src != nil && src.rawCard {
		missing = append(missing, missingBillTo(billTo)...)
	}
	switch {
	case len(missing) > 0:
		return nil, nil, decimal.Zero, "", missingFields(now, missing...)
	case srcErr != nil:
		return nil, nil, decimal.Zero, "", srcErr
	case amountErr != nil:
		return nil, nil, decimal.Zero, "", amountErr
	}
	if e := validateCard(now, src); e != nil {
		return nil, nil, decimal.Zero, "", e
	}
	return src, billTo, amount, currency, nil
}

// missingBillTo lists the billTo fields a card payment requires and lacks.
func missingBillTo(b *Address) []string {
	if b == nil {
		b = &Address{}
	}
	var out []string
	for _, f := range []struct{ name, value string }{
		{"firstName", b.FirstName}, {"lastName", b.LastName}, {"address1", b.Address1},
		{"locality", b.Locality}, {"country", b.Country}, {"email", b.Email},
	} {
		if strings.TrimSpace(f.value) == "" {
			out = append(out, "orderInformation.billTo."+f.name)
		}
	}
	return out
}

// resolveSource finds the card to charge: a transient token's, a payment instrument's, a
// customer's default instrument's, an instrument identifier's, or the card in the request. The
// caller holds s.mu.
func (s *Server) resolveSource(now time.Time, pin paymentInformationIn, ti *tokenInformationIn, missing *[]string) (*chargeSource, *apiError) {
	st := s.state
	card := pin.Card
	if card == nil {
		card = pin.TokenizedCard
	}
	src := &chargeSource{}
	if card != nil {
		src.month, src.year = strings.TrimSpace(card.ExpirationMonth), strings.TrimSpace(card.ExpirationYear)
		src.securityCode = strings.TrimSpace(card.SecurityCode)
	}
	var transientJWT string
	if ti != nil {
		transientJWT = strings.TrimSpace(ti.TransientTokenJwt)
	}
	var lookupErr *apiError
	switch {
	case transientJWT != "":
		if (card != nil && strings.TrimSpace(card.Number) != "") || (pin.PaymentInstrument != nil && pin.PaymentInstrument.ID != "") ||
			(pin.Customer != nil && pin.Customer.ID != "") || (pin.InstrumentIdentifier != nil && pin.InstrumentIdentifier.ID != "") {
			lookupErr = invalidField(now, fieldTransientToken, "cannot be sent with a card number or another payment token")
			break
		}
		tt, e := s.redeemTransientToken(now, transientJWT)
		if e != nil {
			lookupErr = e
			break
		}
		// Like a card: billTo is required and TOKEN_CREATE may tokenize it. Expiry or security
		// code sent in the request win over the token's.
		src.pan, src.rawCard, src.transientTokenJTI = tt.pan, true, tt.JTI
		if src.month == "" {
			src.month = tt.Card.ExpirationMonth
		}
		if src.year == "" {
			src.year = tt.Card.ExpirationYear
		}
		if src.securityCode == "" {
			src.securityCode = tt.securityCode
		}
	case pin.PaymentInstrument != nil && pin.PaymentInstrument.ID != "":
		pi := st.instruments[pin.PaymentInstrument.ID]
		if pi == nil || pi.Deleted {
			lookupErr = invalidField(now, "paymentInformation.paymentInstrument.id", "is not an active payment instrument")
			break
		}
		src.useInstrument(pi, st)
	case pin.Customer != nil && pin.Customer.ID != "":
		c := st.customers[pin.Customer.ID]
		if c == nil || c.Deleted {
			lookupErr = invalidField(now, "paymentInformation.customer.id", "is not an active customer")
			break
		}
		pi := st.instruments[c.DefaultPaymentInstrumentID]
		if pi == nil || pi.Deleted {
			lookupErr = invalidField(now, "paymentInformation.customer.id", "has no default payment instrument")
			break
		}
		src.useInstrument(pi, st)
	case pin.InstrumentIdentifier != nil && pin.InstrumentIdentifier.ID != "":
		ii := st.identifiers[pin.InstrumentIdentifier.ID]
		if ii == nil || ii.Deleted {
			lookupErr = invalidField(now, "paymentInformation.instrumentIdentifier.id", "is not an active instrument identifier")
			break
		}
		src.pan = st.panByIdentifier[ii.ID]
		src.instrumentIdentifierID = ii.ID
	case card != nil:
		src.pan = strings.ReplaceAll(strings.TrimSpace(card.Number), " ", "")
		src.rawCard = true
	}
	if lookupErr != nil {
		return nil, lookupErr
	}
	if src.pan == "" {
		*missing = append(*missing, "paymentInformation.card.number")
		src.rawCard = true
	}
	if src.month == "" {
		*missing = append(*missing, "paymentInformation.card.expirationMonth")
	}
	if src.year == "" {
		*missing = append(*missing, "paymentInformation.card.expirationYear")
	}
	return src, nil
}

// useInstrument charges a stored payment instrument; expiry sent in the request wins.
func (src *chargeSource) useInstrument(pi *PaymentInstrument, st *gatewayState) {
	src.paymentInstrumentID = pi.ID
	src.customerID = pi.CustomerID
	src.instrumentIdentifierID = pi.InstrumentIdentifierID
	src.pan = st.panByIdentifier[pi.InstrumentIdentifierID]
	if src.month == "" {
		src.month = pi.Card.ExpirationMonth
	}
	if src.year == "" {
		src.year = pi.Card.ExpirationYear
	}
	src.billTo = pi.BillTo
}

// validateCard checks the number, expiry and security code formats and fills the brand.
func validateCard(now time.Time, src *chargeSource) *apiError {
	if !allDigits(src.pan) || len(src.pan) < 12 || len(src.pan) > 19 {
		return invalidRequest(now, reasonInvalidCard, "Declined - The card number is invalid",
			fieldDetail{Field: "paymentInformation.card.number", Reason: reasonInvalidData})
	}
	brand, ok := detectBrand(src.pan)
	if !ok {
		return invalidRequest(now, reasonCardTypeNotAccepted, "Declined - The card type is not accepted by the payment processor",
			fieldDetail{Field: "paymentInformation.card.number", Reason: reasonInvalidData})
	}
	src.brand = brand
	month, year, ok := normalizeExpiry(src.month, src.year)
	if !ok {
		return invalidRequest(now, reasonInvalidData, messageInvalidDataPrefix+": paymentInformation.card.expirationMonth/expirationYear",
			fieldDetail{Field: "paymentInformation.card.expirationMonth", Reason: reasonInvalidData},
			fieldDetail{Field: "paymentInformation.card.expirationYear", Reason: reasonInvalidData})
	}
	src.month, src.year = month, year
	if src.securityCode != "" && (!allDigits(src.securityCode) || len(src.securityCode) != brand.cvnLen) {
		digits := map[int]string{3: "three digits", 4: "four digits"}[brand.cvnLen]
		return invalidField(now, "paymentInformation.card.securityCode", "must be "+digits+" for this card type")
	}
	return nil
}

// isDuplicatePayment reports whether a payment with the same merchant reference code was sent in
// the last DuplicateWindow (reason code 104).
func (s *Server) isDuplicatePayment(code string, now time.Time) bool {
	if code == "" {
		return false
	}
	for i := len(s.state.txnOrder) - 1; i >= 0; i-- {
		t := s.state.txns[s.state.txnOrder[i]]
		if now.Sub(t.SubmitTime) > DuplicateWindow {
			break
		}
		if (t.Kind == KindAuthorization || t.Kind == KindSale) && t.ClientReferenceCode == code {
			return true
		}
	}
	return false
}

// authOutcome is what the issuer, the AVS/CVN checks and Decision Manager made of a payment.
type authOutcome struct {
	status, reason, reasonCode string
	responseCode, rFlag        string
	approved                   bool
	avs, cvn                   string
	risk                       *RiskResult
}

// authorize applies the sandbox magic values (see the package documentation).
func authorize(now time.Time, src *chargeSource, billTo *Address, req *paymentRequest) authOutcome {
	decline := func(reason, code, response, flag string) authOutcome {
		return authOutcome{status: StatusDeclined, reason: reason, reasonCode: code, responseCode: response, rFlag: flag}
	}
	switch {
	case !luhnValid(src.pan):
		return decline("INVALID_ACCOUNT", "231", "14", "DINVALIDCARD")
	case src.pan == CardDeclined:
		return decline("PROCESSOR_DECLINED", "203", "05", "DCARDREFUSED")
	case src.pan == CardInsufficientFunds:
		return decline("INSUFFICIENT_FUND", "204", "51", "DCARDREFUSED")
	case expired(src.month, src.year, now):
		return decline("EXPIRED_CARD", "202", "54", "DCARDEXPIRED")
	}
	o := authOutcome{approved: true, responseCode: "00", avs: "Y"}
	if src.securityCode != "" {
		o.cvn = "M"
	}
	if billTo != nil && strings.TrimSpace(billTo.PostalCode) == PostalCodeAVSFailed {
		o.avs = "N"
	}
	if src.securityCode == SecurityCodeCVFailed {
		o.cvn = "N"
	}
	if !req.ProcessingInformation.has("DECISION_SKIP") {
		o.risk = screen(billTo, req)
	}
	switch {
	case o.risk != nil && o.risk.Decision == DecisionReject:
		o.status, o.reason, o.reasonCode, o.rFlag = StatusAuthorizedRiskDeclined, "DECISION_PROFILE_REJECT", "481", "DREJECT"
	case o.cvn == "N":
		o.status, o.reason, o.reasonCode, o.rFlag = StatusAuthorizedPendingReview, "CV_FAILED", "230", "DCV"
	case o.avs == "N":
		o.status, o.reason, o.reasonCode, o.rFlag = StatusAuthorizedPendingReview, "AVS_FAILED", "200", "DAVSNO"
	case o.risk != nil && o.risk.Decision == DecisionReview:
		o.status, o.reason, o.reasonCode, o.rFlag = StatusAuthorizedPendingReview, "DECISION_PROFILE_REVIEW", "480", "DREVIEW"
	default:
		o.status, o.reasonCode, o.rFlag = StatusAuthorized, "100", "SOK"
	}
	return o
}

// screen is the simulated Decision Manager profile: the billTo e-mail decides.
func screen(billTo *Address, req *paymentRequest) *RiskResult {
	profile := "Payhub sandbox profile"
	if req.RiskInformation != nil && req.RiskInformation.Profile != nil && req.RiskInformation.Profile.Name != "" {
		profile = req.RiskInformation.Profile.Name
	}
	email := ""
	if billTo != nil {
		email = strings.ToLower(strings.TrimSpace(billTo.Email))
	}
	r := &RiskResult{Profile: profile, Decision: DecisionAccept, Score: 12}
	switch {
	case strings.HasPrefix(email, EmailRejectPrefix):
		r.Decision, r.Score = DecisionReject, 95
	case strings.HasPrefix(email, EmailReviewPrefix):
		r.Decision, r.Score = DecisionReview, 75
	}
	r.OriginalDecision = r.Decision
	return r
}

// rMessages are the applications' rMessage texts by reason code.
var rMessages = map[string]string{
	"100": "Request was processed successfully.",
	"200": "Soft Decline - The authorization request was approved by the issuing bank but declined by CyberSource because it did not pass the AVS check.",
	"202": "Decline - Expired card.",
	"203": "Decline - General decline of the card.",
	"204": "Decline - Insufficient funds in the account.",
	"230": "Soft Decline - The authorization request was approved by the issuing bank but declined by CyberSource because it did not pass the CVN check.",
	"231": "Decline - Invalid account number.",
	"480": "The order is marked for review by Decision Manager.",
	"481": "The order has been rejected by Decision Manager.",
}

// okApplication is a successful SCMP service.
func okApplication(name, status, reconciliationID string) Application {
	return Application{Name: name, Status: status, ReasonCode: "100", RCode: "1", RFlag: "SOK",
		RMessage: rMessages["100"], ReconciliationID: reconciliationID, ReturnCode: 1010000}
}

// authApplication is the ics_auth of a payment: successful whenever the issuer approved.
func authApplication(o authOutcome, reconciliationID string) Application {
	if o.approved {
		return okApplication("ics_auth", "", reconciliationID)
	}
	return Application{Name: "ics_auth", ReasonCode: o.reasonCode, RCode: "0", RFlag: o.rFlag,
		RMessage: rMessages[o.reasonCode], ReconciliationID: reconciliationID, ReturnCode: 1020000}
}

// decisionApplication is the ics_decision of a screened payment.
func decisionApplication(decision string) Application {
	switch decision {
	case DecisionReview:
		return Application{Name: "ics_decision", ReasonCode: "480", RCode: "1", RFlag: "DREVIEW", RMessage: rMessages["480"], ReturnCode: 1010000}
	case DecisionReject:
		return Application{Name: "ics_decision", ReasonCode: "481", RCode: "0", RFlag: "DREJECT", RMessage: rMessages["481"], ReturnCode: 1020000}
	}
	return okApplication("ics_decision", "", "")
}
