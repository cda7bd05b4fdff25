package opayosim

import (
	"time"
)

// Pi transaction types.
const (
	typePayment      = "Payment"
	typeDeferred     = "Deferred"
	typeAuthenticate = "Authenticate"
	typeAuthorise    = "Authorise"
	typeRepeat       = "Repeat"
	typeRefund       = "Refund"
)

// Pi transaction statuses.
const (
	statusOk            = "Ok"
	statusNotAuthed     = "NotAuthed"
	statusRejected      = "Rejected"
	status3DAuth        = "3DAuth"
	statusAuthenticated = "Authenticated"
	statusRegistered    = "Registered"
)

// Where a transaction came from.
const (
	originPi     = "pi"
	originServer = "server"
)

// transaction is one gateway transaction, whichever protocol created it. The Server's mutex guards
// it. It never holds a card number or security code beyond pendingSecurityCode, which lives only
// between a 3-D Secure challenge and its authorisation.
type transaction struct {
	id           string
	origin       string
	txType       string
	vendorTxCode string
	amount       int64 // minor units
	currency     string
	description  string
	createdAt    time.Time
	completedAt  time.Time

	status       string
	statusCode   string
	statusDetail string
	txState      int

	card               *cardInfo
	threeDS            string // Pi 3DSecure.status, "" when not applicable
	avs                *avsCvc
	bankResponseCode   string
	bankAuthCode       string
	retrievalReference *int64
	vpsAuthCode        int64 // TxAuthNo / vpsauthcode, 0 when not authorised
	securityKey        string

	customer                customerDetails
	giftAid                 bool
	apply3DS                string
	applyAvs                string
	entryMethod             string
	settlementReferenceText string

	relatedID       string // referenceTransactionId of a Repeat, Refund or Authorise
	refunded        int64  // Σ successful, unvoided refunds against this transaction
	repeated        bool   // a Repeat was taken against this transaction
	released        *int64 // a Deferred's released amount
	releasedAt      time.Time
	authorisedTotal int64 // Σ Authorise amounts against an Authenticate
	instructions    []Instruction

	batchID       string
	authProcessor string
	settledAt     time.Time

	challenge           *threeDSChallenge
	pendingSecurityCode string
	pendingSave         bool
	server              *serverRegistration
}

// cardInfo is what the gateway keeps of the card: masked details and the issuer profile.
type cardInfo struct {
	profile        cardProfile
	cardType       string
	last4          string
	expiry         string // MMYY
	cardholder     string
	cardIdentifier string
	reusable       bool
}

// customerDetails are the billing and delivery details of a transaction.
type customerDetails struct {
	firstName, lastName, email, phone string
	billing                           address
	delivery                          address
	deliveryFirstName                 string
	deliveryLastName                  string
}

// address is a postal address as Pi and the form protocols carry it.
type address struct {
	Address1   string `json:"address1"`
	Address2   string `json:"address2"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode"`
	Country    string `json:"country"`
	State      string `json:"state"`
}

// Instruction is a void, abort, release or cancel applied to a transaction (Amount only for a
// release, in minor units).
type Instruction struct {
	InstructionType string    `json:"instructionType"`
	Date            time.Time `json:"date"`
	Amount          int64     `json:"amount,omitempty"`
}

// captured returns the amount a transaction moves at settlement and when it was captured: payments,
// repeats and authorises once authorised, deferreds once released, refunds once processed. Voided,
// cancelled or still-notifying transactions move nothing.
func (t *transaction) captured() (int64, time.Time, bool) {
	if t.status != statusOk || t.txState != txStateAuthorised {
		return 0, time.Time{}, false
	}
	switch t.txType {
	case typePayment, typeRepeat, typeAuthorise, typeRefund:
		return t.amount, t.completedAt, true
	case typeDeferred:
		if t.released != nil {
			return *t.released, t.releasedAt, true
		}
	}
	return 0, time.Time{}, false
}

// authProcessorFor names the acquirer that settles a card type: American Express cards settle
// through their own merchant number, everything else through Elavon.
func authProcessorFor(cardType string) (name, merchantNumber string) {
	name = AuthProcessorElavon
	if cardType == "AmericanExpress" {
		name = AuthProcessorAmex
	}
	return name, merchantNumbers[name]
}

// Acquirers, as Reporting names them in authprocessor and authprocessorname.
const (
	// AuthProcessorElavon settles Visa, MasterCard, Maestro and the other non-Amex schemes.
	AuthProcessorElavon = "Elavon"
	// AuthProcessorAmex settles American Express cards in a second daily batch.
	AuthProcessorAmex = "American Express"
)

// merchantNumbers are the simulated merchant numbers at each acquirer.
var merchantNumbers = map[string]string{AuthProcessorElavon: "4400123456", AuthProcessorAmex: "9300123456"}

// piTransactionView is the Pi transaction object (opayo.md §2.5).
type piTransactionView struct {
	TransactionID           string           `json:"transactionId"`
	TransactionType         string           `json:"transactionType"`
	Status                  string           `json:"status"`
	StatusCode              string           `json:"statusCode"`
	StatusDetail            string           `json:"statusDetail"`
	RetrievalReference      *int64           `json:"retrievalReference,omitempty"`
	BankResponseCode        string           `json:"bankResponseCode,omitempty"`
	BankAuthorisationCode   string           `json:"bankAuthorisationCode,omitempty"`
	PaymentMethod           *piPaymentMethod `json:"paymentMethod,omitempty"`
	Amount                  *piAmount        `json:"amount,omitempty"`
	Currency                string           `json:"currency,omitempty"`
	ThreeDSecure            *piThreeDSecure  `json:"3DSecure,omitempty"`
	AvsCvcCheck             *avsCvc          `json:"avsCvcCheck,omitempty"`
	AcsTransID              string           `json:"acsTransId,omitempty"`
	DsTransID               string           `json:"dsTransId,omitempty"`
	SettlementReferenceText string           `json:"settlementReferenceText,omitempty"`
}

type piPaymentMethod struct {
	Card *piCardView `json:"card"`
}

type piCardView struct {
	CardType       string `json:"cardType"`
	LastFourDigits string `json:"lastFourDigits"`
	ExpiryDate     string `json:"expiryDate"`
	CardIdentifier string `json:"cardIdentifier,omitempty"`
	Reusable       bool   `json:"reusable"`
}

type piAmount struct {
	TotalAmount     int64 `json:"totalAmount"`
	SaleAmount      int64 `json:"saleAmount"`
	SurchargeAmount int64 `json:"surchargeAmount"`
}

type piThreeDSecure struct {
	Status string `json:"status"`
}

// piView renders the transaction as Pi returns it from POST and GET /transactions.
func (t *transaction) piView() piTransactionView {
	v := piTransactionView{
		TransactionID:           t.id,
		TransactionType:         t.txType,
		Status:                  t.status,
		StatusCode:              t.statusCode,
		StatusDetail:            t.statusDetail,
		RetrievalReference:      t.retrievalReference,
		BankResponseCode:        t.bankResponseCode,
		BankAuthorisationCode:   t.bankAuthCode,
		Amount:                  &piAmount{TotalAmount: t.amount, SaleAmount: t.amount},
		Currency:                t.currency,
		AvsCvcCheck:             t.avs,
		SettlementReferenceText: t.settlementReferenceText,
	}
	if t.card != nil {
		v.PaymentMethod = &piPaymentMethod{Card: &piCardView{
			CardType:       t.card.cardType,
			LastFourDigits: t.card.last4,
			ExpiryDate:     t.card.expiry,
			CardIdentifier: t.card.cardIdentifier,
			Reusable:       t.card.reusable,
		}}
	}
	if t.threeDS != "" {
		v.ThreeDSecure = &piThreeDSecure{Status: t.threeDS}
	}
	if t.challenge != nil {
		v.AcsTransID, v.DsTransID = t.challenge.acsTransID, t.challenge.dsTransID
	}
	return v
}
