package opayosim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// piTransactionRequest is the union of the POST /transactions bodies (opayo.md §2.4).
type piTransactionRequest struct {
	TransactionType string `json:"transactionType"`
	PaymentMethod   *struct {
		Card *struct {
			MerchantSessionKey string `json:"merchantSessionKey"`
			CardIdentifier     string `json:"cardIdentifier"`
			Reusable           bool   `json:"reusable"`
			Save               bool   `json:"save"`
		} `json:"card"`
	} `json:"paymentMethod"`
	VendorTxCode                 string          `json:"vendorTxCode"`
	Amount                       json.RawMessage `json:"amount"`
	Currency                     string          `json:"currency"`
	Description                  string          `json:"description"`
	CustomerFirstName            string          `json:"customerFirstName"`
	CustomerLastName             string          `json:"customerLastName"`
	CustomerEmail                string          `json:"customerEmail"`
	CustomerPhone                string          `json:"customerPhone"`
	BillingAddress               *address        `json:"billingAddress"`
	ShippingDetails              *piShipping     `json:"shippingDetails"`
	EntryMethod                  string          `json:"entryMethod"`
	Apply3DSecure                string          `json:"apply3DSecure"`
	ApplyAvsCvcCheck             string          `json:"applyAvsCvcCheck"`
	GiftAid                      bool            `json:"giftAid"`
	ReferrerID                   string          `json:"referrerId"`
	SettlementReferenceText      string          `json:"settlementReferenceText"`
	StrongCustomerAuthentication *piSCA          `json:"strongCustomerAuthentication"`
	CredentialType               json.RawMessage `json:"credentialType"`
	ReferenceTransactionID       string          `json:"referenceTransactionId"`
}

type piShipping struct {
	RecipientFirstName string `json:"recipientFirstName"`
	RecipientLastName  string `json:"recipientLastName"`
	ShippingAddress1   string `json:"shippingAddress1"`
	ShippingAddress2   string `json:"shippingAddress2"`
	ShippingCity       string `json:"shippingCity"`
	ShippingPostalCode string `json:"shippingPostalCode"`
	ShippingCountry    string `json:"shippingCountry"`
	ShippingState      string `json:"shippingState"`
}

// piSCA is the strongCustomerAuthentication object; only its required members are checked.
type piSCA struct {
	NotificationURL          string `json:"notificationURL"`
	BrowserIP                string `json:"browserIP"`
	BrowserAcceptHeader      string `json:"browserAcceptHeader"`
	BrowserJavascriptEnabled *bool  `json:"browserJavascriptEnabled"`
	BrowserLanguage          string `json:"browserLanguage"`
	BrowserUserAgent         string `json:"browserUserAgent"`
	ChallengeWindowSize      string `json:"challengeWindowSize"`
	TransType                string `json:"transType"`
}

var (
	vendorTxCodePattern = regexp.MustCompile(`^[A-Za-z0-9{}._-]+$`)
	countryPattern      = regexp.MustCompile(`^[A-Z]{2}$`)
	checkModes          = []string{"UseMSPSetting", "Force", "Disable", "ForceIgnoringRules"}
)

// createTransaction answers POST /transactions.
func (s *Server) createTransaction(r *http.Request) piReply {
	var req piTransactionRequest
	if rep := decodePiBody(r, &req); rep != nil {
		return *rep
	}
	base := s.baseURL(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	switch req.TransactionType {
	case typePayment, typeDeferred, typeAuthenticate:
		return s.createCardTransaction(req, now, base)
	case typeRepeat:
		return s.createRepeat(req, now)
	case typeRefund:
		return s.createRefund(req, now)
	case typeAuthorise:
		return s.createAuthorise(req, now)
	case "":
		var v violations
		v.add(1003, "transactionType", "The transaction type is required")
		return piInvalid(v)
	}
	var v violations
	v.add(1009, "transactionType", "The transaction type is invalid")
	return piInvalid(v)
}

// getTransaction answers GET /transactions/{id}.
func (s *Server) getTransaction(r *http.Request) piReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupPi(r.PathValue("id"))
	if t == nil {
		return piFailure(http.StatusNotFound, 1012)
	}
	return piReply{http.StatusOK, t.piView()}
}

// lookupPi finds a transaction by Pi transactionId (braces tolerated). A Server-protocol
// transaction whose shopper has not paid yet is not visible to Pi.
func (s *Server) lookupPi(id string) *transaction {
	t := s.txs[unbraced(id)]
	if t == nil || (t.origin == originServer && t.txState == txStateCardSelection) {
		return nil
	}
	return t
}

// validateCommon checks vendorTxCode, amount and description and returns the amount.
func validateCommon(v *violations, req piTransactionRequest, minAmount int64) int64 {
	if v.required(req.VendorTxCode, "vendorTxCode", "vendor transaction code") {
		v.maxLen(req.VendorTxCode, 40, "vendorTxCode", "vendor transaction code")
		if !vendorTxCodePattern.MatchString(req.VendorTxCode) {
			v.add(1005, "vendorTxCode", "The vendor transaction code contains invalid characters")
		}
	}
	amount, ok := parseMinorAmount(req.Amount, "amount", v)
	if ok && amount < minAmount {
		v.add(1009, "amount", "The amount is invalid")
	}
	if v.required(req.Description, "description", "description") {
		v.maxLen(req.Description, 100, "description", "description")
	}
	return amount
}

func validateCurrency(v *violations, currency string) {
	if v.required(currency, "currency", "currency") && !knownCurrency(currency) {
		v.add(1010, "currency", "The currency is not supported")
	}
}

func validateCustomer(v *violations, req piTransactionRequest) {
	if v.required(req.CustomerFirstName, "customerFirstName", "customer first name") {
		v.maxLen(req.CustomerFirstName, 20, "customerFirstName", "customer first name")
	}
	if v.required(req.CustomerLastName, "customerLastName", "customer last name") {
		v.maxLen(req.CustomerLastName, 20, "customerLastName", "customer last name")
	}
	b := req.BillingAddress
	if b == nil {
		v.add(1003, "billingAddress", "The billing address is required")
	} else {
		if v.required(b.Address1, "billingAddress.address1", "billing address") {
			v.maxLen(b.Address1, 50, "billingAddress.address1", "billing address")
		}
		if v.required(b.City, "billingAddress.city", "billing city") {
			v.maxLen(b.City, 40, "billingAddress.city", "billing city")
		}
		if v.required(b.Country, "billingAddress.country", "billing country") && !countryPattern.MatchString(b.Country) {
			v.add(1009, "billingAddress.country", "The billing country is invalid")
		}
		if b.Country != "IE" && v.required(b.PostalCode, "billingAddress.postalCode", "billing postal code") {
			v.maxLen(b.PostalCode, 10, "billingAddress.postalCode", "billing postal code")
		}
		if b.Country == "US" {
			v.required(b.State, "billingAddress.state", "billing state")
		}
	}
	validateShipping(v, req.ShippingDetails)
}

func validateShipping(v *violations, sh *piShipping) {
	if sh == nil {
		return
	}
	v.required(sh.RecipientFirstName, "shippingDetails.recipientFirstName", "recipient first name")
	v.required(sh.RecipientLastName, "shippingDetails.recipientLastName", "recipient last name")
	v.required(sh.ShippingAddress1, "shippingDetails.shippingAddress1", "shipping address")
	v.required(sh.ShippingCity, "shippingDetails.shippingCity", "shipping city")
	if v.required(sh.ShippingCountry, "shippingDetails.shippingCountry", "shipping country") && !countryPattern.MatchString(sh.ShippingCountry) {
		v.add(1009, "shippingDetails.shippingCountry", "The shipping country is invalid")
	}
}

func validateSCA(v *violations, sca *piSCA) {
	const p = "strongCustomerAuthentication."
	if v.required(sca.NotificationURL, p+"notificationURL", "notification URL") {
		if u, err := url.Parse(sca.NotificationURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(1009, p+"notificationURL", "The notification URL is invalid")
		}
	}
	v.required(sca.BrowserIP, p+"browserIP", "browser IP")
	v.required(sca.BrowserAcceptHeader, p+"browserAcceptHeader", "browser accept header")
	if sca.BrowserJavascriptEnabled == nil {
		v.add(1003, p+"browserJavascriptEnabled", "The browser JavaScript flag is required")
	}
	v.required(sca.BrowserLanguage, p+"browserLanguage", "browser language")
	v.required(sca.BrowserUserAgent, p+"browserUserAgent", "browser user agent")
	if v.required(sca.ChallengeWindowSize, p+"challengeWindowSize", "challenge window size") {
		v.oneOf(sca.ChallengeWindowSize, p+"challengeWindowSize", "challenge window size",
			"Small", "Medium", "Large", "ExtraLarge", "FullScreen")
	}
	if v.required(sca.TransType, p+"transType", "transaction type") {
		v.oneOf(sca.TransType, p+"transType", "transaction type",
			"GoodsAndServicePurchase", "CheckAcceptance", "AccountFunding", "QuasiCashTransaction", "PrepaidActivationAndLoad")
	}
}

// duplicate answers a reused vendorTxCode per Options.DuplicateVendorTxCode, or returns nil.
func (s *Server) duplicate(code string) *piReply {
	c := s.opts.DuplicateVendorTxCode.duplicateCode(s.byVendorTxCode[code])
	if c == 0 {
		return nil
	}
	rep := piInvalid([]piError{{Code: c, Property: "vendorTxCode", Description: piErrorText[c],
		ClientMessage: "The vendor transaction code has been used before"}})
	return &rep
}

// newTransaction starts a transaction with fresh identifiers. The caller holds s.mu.
func (s *Server) newTransaction(origin, txType, vendorTxCode string, amount int64, currency, description string, now time.Time) *transaction {
	return &transaction{
		id:           newGUID(),
		origin:       origin,
		txType:       txType,
		vendorTxCode: vendorTxCode,
		amount:       amount,
		currency:     currency,
		description:  description,
		createdAt:    now,
		completedAt:  now,
		securityKey:  newSecurityKey(),
	}
}

// store adds a transaction to the indexes. The caller holds s.mu.
func (s *Server) store(t *transaction) {
	s.txs[t.id] = t
	s.txOrder = append(s.txOrder, t)
	s.byVendorTxCode[t.vendorTxCode] = append(s.byVendorTxCode[t.vendorTxCode], t)
}

// createCardTransaction handles Payment, Deferred and Authenticate.
func (s *Server) createCardTransaction(req piTransactionRequest, now time.Time, base string) piReply {
	var v violations
	var cardReq struct {
		msk, id string
		save    bool
	}
	switch {
	case req.PaymentMethod == nil:
		v.add(1003, "paymentMethod", "The payment method is required")
	case req.PaymentMethod.Card == nil:
		v.add(1003, "paymentMethod.card", "The card is required")
	default:
		c := req.PaymentMethod.Card
		cardReq.msk, cardReq.id, cardReq.save = c.MerchantSessionKey, c.CardIdentifier, c.Save
		v.required(c.CardIdentifier, "paymentMethod.card.cardIdentifier", "card identifier")
	}
	minAmount := int64(1)
	if req.TransactionType == typeAuthenticate {
		minAmount = 0
	}
	amount := validateCommon(&v, req, minAmount)
	validateCurrency(&v, req.Currency)
	validateCustomer(&v, req)
	v.oneOf(req.EntryMethod, "entryMethod", "entry method", "Ecommerce", "MailOrder", "TelephoneOrder", "ContinuousAuthority")
	v.oneOf(req.Apply3DSecure, "apply3DSecure", "3-D Secure setting", checkModes...)
	v.oneOf(req.ApplyAvsCvcCheck, "applyAvsCvcCheck", "AVS/CV2 setting", checkModes...)
	force3DS := req.Apply3DSecure == "Force" || req.Apply3DSecure == "ForceIgnoringRules"
	if req.StrongCustomerAuthentication != nil {
		validateSCA(&v, req.StrongCustomerAuthentication)
	} else if force3DS {
		v.add(1003, "strongCustomerAuthentication", "Strong customer authentication details are required for 3-D Secure")
	}
	if len(v) > 0 {
		return piInvalid(v)
	}
	if rep := s.duplicate(req.VendorTxCode); rep != nil {
		return *rep
	}

	ci := s.cards[cardReq.id]
	switch {
	case !ci.usable(now):
		v.add(1011, "paymentMethod.card.cardIdentifier", "The card identifier is invalid or has expired")
	case ci.reusable:
		if cardReq.msk != "" && !s.msks[cardReq.msk].live(now) {
			v.add(1011, "paymentMethod.card.merchantSessionKey", "The merchant session key is invalid or has expired")
		}
		if cardReq.save {
			v.add(1020, "paymentMethod.card.save", "The card identifier is already reusable")
		}
	case cardReq.msk == "":
		v.add(1003, "paymentMethod.card.merchantSessionKey", "The merchant session key is required")
	case cardReq.msk != ci.msk || !s.msks[cardReq.msk].live(now):
		v.add(1011, "paymentMethod.card.merchantSessionKey", "The merchant session key is invalid or has expired")
	}
	if len(v) > 0 {
		return piInvalid(v)
	}

	t := s.newTransaction(originPi, req.TransactionType, req.VendorTxCode, amount, req.Currency, req.Description, now)
	t.customer = customerFromPi(req)
	t.giftAid = req.GiftAid
	t.apply3DS, t.applyAvs, t.entryMethod = req.Apply3DSecure, req.ApplyAvsCvcCheck, req.EntryMethod
	t.settlementReferenceText = req.SettlementReferenceText
	card := ci.card
	card.reusable = ci.reusable
	t.card = &card
	t.pendingSave = cardReq.save
	securityCode := ci.securityCode
	ci.securityCode = "" // a security code serves one transaction
	if !ci.reusable {
		ci.consumed = true
	}
	t.threeDS = "NotChecked"
	if force3DS {
		if card.profile.ThreeDS == "Authenticated" {
			t.status, t.statusCode, t.statusDetail, t.txState = status3DAuth, "2021", detail3DSChallenge, txState3DSecure
			t.pendingSecurityCode = securityCode
			t.threeDS = ""
			ch := newChallenge(req.StrongCustomerAuthentication.NotificationURL, req.StrongCustomerAuthentication.ChallengeWindowSize)
			t.challenge = ch
			s.acsIndex[ch.acsTransID] = t.id
			s.store(t)
			return piReply{http.StatusAccepted, ch.view(t, base)}
		}
		t.threeDS = card.profile.ThreeDS
	}
	s.finishCardTransaction(t, securityCode, now)
	s.store(t)
	return piReply{http.StatusCreated, t.piView()}
}

func customerFromPi(req piTransactionRequest) customerDetails {
	c := customerDetails{
		firstName: req.CustomerFirstName,
		lastName:  req.CustomerLastName,
		email:     req.CustomerEmail,
		phone:     req.CustomerPhone,
	}
	if req.BillingAddress != nil {
		c.billing = *req.BillingAddress
	}
	c.delivery, c.deliveryFirstName, c.deliveryLastName = c.billing, c.firstName, c.lastName
	if sh := req.ShippingDetails; sh != nil {
		c.deliveryFirstName, c.deliveryLastName = sh.RecipientFirstName, sh.RecipientLastName
		c.delivery = address{Address1: sh.ShippingAddress1, Address2: sh.ShippingAddress2, City: sh.ShippingCity,
			PostalCode: sh.ShippingPostalCode, Country: sh.ShippingCountry, State: sh.ShippingState}
	}
	return c
}

// finishCardTransaction applies the 3-D Secure rules, the AVS/CV2 checks and the bank's answer to a
// Payment, Deferred or Authenticate whose 3-D Secure stage is over. The caller holds s.mu.
func (s *Server) finishCardTransaction(t *transaction, securityCode string, now time.Time) {
	t.completedAt = now
	t.pendingSecurityCode = ""
	if t.apply3DS == "Force" && !threeDSAcceptable(t.threeDS) {
		t.status, t.statusCode, t.statusDetail, t.txState = statusRejected, "4026", detail3DSFailed, txStateRejected
		return
	}
	if t.txType == typeAuthenticate {
		if t.threeDS == "Authenticated" {
			t.status, t.statusCode, t.statusDetail, t.txState = statusAuthenticated, "2010", detailAuthenticated, txStateAuthenticated
		} else {
			t.status, t.statusCode, t.statusDetail, t.txState = statusRegistered, "2011", detailRegistered, txStateRegistered
		}
		s.saveCardIfAsked(t)
		return
	}
	avs := checkAvsCvc(t.applyAvs, t.customer.billing.Address1, t.customer.billing.PostalCode, securityCode)
	t.avs = &avs
	s.authorise(t)
	if t.status == statusOk && t.applyAvs == "Force" && avs.Status != "AllMatched" {
		t.status, t.statusCode, t.statusDetail, t.txState = statusRejected, "2001", detailRejectedRules, txStateRejected
		t.bankAuthCode, t.retrievalReference, t.vpsAuthCode = "", nil, 0
		return
	}
	if t.status == statusOk {
		s.saveCardIfAsked(t)
	}
}

// threeDSAcceptable says whether a 3-D Secure outcome lets a transaction proceed when the vendor's
// rules apply: authenticated, attempted, or a card/issuer outside the scheme.
func threeDSAcceptable(status string) bool {
	switch status {
	case "Authenticated", "AttemptOnly", "CardNotEnrolled", "IssuerNotEnrolled", "NotChecked":
		return true
	}
	return false
}

// saveCardIfAsked makes the transaction's card identifier reusable when the request said save.
func (s *Server) saveCardIfAsked(t *transaction) {
	if !t.pendingSave || t.card == nil {
		return
	}
	t.pendingSave = false
	if ci := s.cards[t.card.cardIdentifier]; ci != nil {
		ci.reusable = true
		t.card.reusable = true
	}
}

// authorise asks the simulated bank: sandbox decline cards are NotAuthed (2000, bank code 05),
// everything else is authorised. The caller holds s.mu.
func (s *Server) authorise(t *transaction) {
	if t.card != nil && t.card.profile.Decline {
		t.status, t.statusCode, t.statusDetail = statusNotAuthed, "2000", detailDeclined
		t.bankResponseCode, t.txState = "05", txStateDeclined
		return
	}
	t.status, t.statusCode, t.statusDetail = statusOk, "0000", detailAuthorised
	t.bankResponseCode, t.bankAuthCode = "00", "999777"
	ref := s.nextRetrievalRef
	s.nextRetrievalRef++
	t.retrievalReference = &ref
	t.vpsAuthCode = s.nextAuthNo
	s.nextAuthNo++
	t.txState = txStateAuthorised
	if t.txType == typeDeferred {
		t.txState = txStateDeferred
	}
	if t.card != nil {
		t.authProcessor, _ = authProcessorFor(t.card.cardType)
	}
}

// referenced resolves referenceTransactionId for Repeat, Refund and Authorise.
func (s *Server) referenced(id string) (*transaction, *piReply) {
	ref := s.lookupPi(id)
	if ref == nil {
		rep := piFailure(http.StatusNotFound, 1012)
		return nil, &rep
	}
	return ref, nil
}

// derived starts a Repeat, Refund or Authorise that reuses its reference's card and customer.
func (s *Server) derived(ref *transaction, txType string, req piTransactionRequest, amount int64, currency string, now time.Time) *transaction {
	t := s.newTransaction(originPi, txType, req.VendorTxCode, amount, currency, req.Description, now)
	t.relatedID = ref.id
	t.customer = ref.customer
	if ref.card != nil {
		card := *ref.card
		t.card = &card
	}
	return t
}

// createRepeat handles Repeat: a new authorisation on the card of an earlier successful payment.
// The amount is not limited by the original.
func (s *Server) createRepeat(req piTransactionRequest, now time.Time) piReply {
	var v violations
	v.required(req.ReferenceTransactionID, "referenceTransactionId", "reference transaction id")
	amount := validateCommon(&v, req, 1)
	validateCurrency(&v, req.Currency)
	validateShipping(&v, req.ShippingDetails)
	if len(v) > 0 {
		return piInvalid(v)
	}
	if rep := s.duplicate(req.VendorTxCode); rep != nil {
		return *rep
	}
	ref, rep := s.referenced(req.ReferenceTransactionID)
	if rep != nil {
		return *rep
	}
	switch ref.txType {
	case typePayment, typeDeferred, typeRepeat, typeAuthorise:
	default:
		return piFailure(http.StatusForbidden, 1013)
	}
	if ref.status != statusOk || ref.card == nil {
		return piFailure(http.StatusForbidden, 1014)
	}
	t := s.derived(ref, typeRepeat, req, amount, req.Currency, now)
	if sh := req.ShippingDetails; sh != nil {
		t.customer.deliveryFirstName, t.customer.deliveryLastName = sh.RecipientFirstName, sh.RecipientLastName
		t.customer.delivery = address{Address1: sh.ShippingAddress1, Address2: sh.ShippingAddress2, City: sh.ShippingCity,
			PostalCode: sh.ShippingPostalCode, Country: sh.ShippingCountry, State: sh.ShippingState}
	}
	t.giftAid = req.GiftAid
	s.authorise(t)
	ref.repeated = true
	s.store(t)
	return piReply{http.StatusCreated, t.piView()}
}

// createRefund handles Refund: partial or repeated refunds up to the captured amount of the
// original; more answers 403/1018.
func (s *Server) createRefund(req piTransactionRequest, now time.Time) piReply {
	var v violations
	v.required(req.ReferenceTransactionID, "referenceTransactionId", "reference transaction id")
	amount := validateCommon(&v, req, 1)
	if len(v) > 0 {
		return piInvalid(v)
	}
	if rep := s.duplicate(req.VendorTxCode); rep != nil {
		return *rep
	}
	ref, rep := s.referenced(req.ReferenceTransactionID)
	if rep != nil {
		return *rep
	}
	switch ref.txType {
	case typePayment, typeDeferred, typeRepeat, typeAuthorise:
	default:
		return piFailure(http.StatusForbidden, 1013)
	}
	captured, _, ok := ref.captured()
	if !ok {
		return piFailure(http.StatusForbidden, 1014)
	}
	if ref.refunded+amount > captured {
		return piReply{http.StatusForbidden, piError{Code: 1018,
			Description: piErrorText[1018] + " (4035 : This Refund would exceed the amount of the original transactaction.)"}}
	}
	t := s.derived(ref, typeRefund, req, amount, ref.currency, now)
	t.status, t.statusCode, t.statusDetail, t.txState = statusOk, "0000", detailAuthorised, txStateAuthorised
	t.vpsAuthCode = s.nextAuthNo
	s.nextAuthNo++
	t.authProcessor = ref.authProcessor
	ref.refunded += amount
	s.store(t)
	return piReply{http.StatusCreated, t.piView()}
}

// createAuthorise handles Authorise against an Authenticate, up to 115% of its amount in total.
func (s *Server) createAuthorise(req piTransactionRequest, now time.Time) piReply {
	var v violations
	v.required(req.ReferenceTransactionID, "referenceTransactionId", "reference transaction id")
	amount := validateCommon(&v, req, 1)
	v.oneOf(req.ApplyAvsCvcCheck, "applyAvsCvcCheck", "AVS/CV2 setting", checkModes...)
	if len(v) > 0 {
		return piInvalid(v)
	}
	if rep := s.duplicate(req.VendorTxCode); rep != nil {
		return *rep
	}
	ref, rep := s.referenced(req.ReferenceTransactionID)
	if rep != nil {
		return *rep
	}
	if ref.txType != typeAuthenticate {
		return piFailure(http.StatusForbidden, 1013)
	}
	if ref.txState != txStateAuthenticated && ref.txState != txStateRegistered {
		return piFailure(http.StatusForbidden, 1014)
	}
	if ref.amount > 0 && (ref.authorisedTotal+amount)*100 > ref.amount*115 {
		return piFailure(http.StatusForbidden, 4044)
	}
	t := s.derived(ref, typeAuthorise, req, amount, ref.currency, now)
	s.authorise(t)
	if t.status == statusOk {
		ref.authorisedTotal += amount
	}
	s.store(t)
	return piReply{http.StatusCreated, t.piView()}
}
