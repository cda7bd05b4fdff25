package opayo

import (
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// TransactionType is Pi's transactionType.
type TransactionType string

// The transaction types Pi creates (opayo.md §2.4).
const (
	TransactionPayment      TransactionType = "Payment"
	TransactionDeferred     TransactionType = "Deferred"
	TransactionAuthenticate TransactionType = "Authenticate"
	TransactionAuthorise    TransactionType = "Authorise"
	TransactionRepeat       TransactionType = "Repeat"
	TransactionRefund       TransactionType = "Refund"
)

// EntryMethod is how the card data was captured.
type EntryMethod string

// Pi entry methods; empty means Opayo's default, Ecommerce.
const (
	EntryEcommerce           EntryMethod = "Ecommerce"
	EntryMailOrder           EntryMethod = "MailOrder"
	EntryTelephoneOrder      EntryMethod = "TelephoneOrder"
	EntryContinuousAuthority EntryMethod = "ContinuousAuthority"
)

// CheckSetting overrides the account's 3-D Secure or AVS/CVC rules for one transaction.
type CheckSetting string

// Values of apply3DSecure and applyAvsCvcCheck; empty means UseMSPSetting.
const (
	CheckUseMSPSetting      CheckSetting = "UseMSPSetting"
	CheckForce              CheckSetting = "Force"
	CheckDisable            CheckSetting = "Disable"
	CheckForceIgnoringRules CheckSetting = "ForceIgnoringRules"
)

// vendorTxCodeMax is Pi's maxLength for vendorTxCode.
const vendorTxCodeMax = 40

// TransactionRequest is one of PaymentRequest, RepeatRequest, RefundRequest and
// AuthoriseRequest. The set is closed: the interface has an unexported method.
type TransactionRequest interface {
	// TransactionType is the transactionType the request creates.
	TransactionType() TransactionType
	// AmountCurrency is the currency the request's amount is in, used to read amounts back.
	AmountCurrency() string
	wire(op string) (*wireTransactionRequest, error)
}

// Address is a Pi billingAddress (opayo.md §2.4). Address1, City and Country are required;
// PostalCode may be empty for IE; State is for US only.
type Address struct {
	Address1   string `json:"address1"`
	Address2   string `json:"address2,omitempty"`
	Address3   string `json:"address3,omitempty"`
	City       string `json:"city"`
	PostalCode string `json:"postalCode,omitempty"`
	// Country is ISO 3166-1 alpha-2, e.g. "GB".
	Country string `json:"country"`
	State   string `json:"state,omitempty"`
}

// ShippingDetails is Pi's shippingDetails; when absent Opayo uses the billing address.
type ShippingDetails struct {
	RecipientFirstName string `json:"recipientFirstName"`
	RecipientLastName  string `json:"recipientLastName"`
	ShippingAddress1   string `json:"shippingAddress1"`
	ShippingAddress2   string `json:"shippingAddress2,omitempty"`
	ShippingAddress3   string `json:"shippingAddress3,omitempty"`
	ShippingCity       string `json:"shippingCity"`
	ShippingPostalCode string `json:"shippingPostalCode,omitempty"`
	ShippingCountry    string `json:"shippingCountry"`
	ShippingState      string `json:"shippingState,omitempty"`
}

// CardMethod is paymentMethod.card: a fresh card identifier with its merchant session key, a
// reusable one without (or with, to send a linked CV2).
type CardMethod struct {
	// MerchantSessionKey that created CardIdentifier; omit for a reusable identifier without CV2.
	MerchantSessionKey string `json:"merchantSessionKey,omitempty"`
	// CardIdentifier from CreateCardIdentifier, or a saved reusable one.
	CardIdentifier string `json:"cardIdentifier"`
	// Reusable marks CardIdentifier as a saved card.
	Reusable bool `json:"reusable,omitempty"`
	// Save asks Opayo to make this identifier reusable (needs CredentialType.COFUsage "First").
	Save bool `json:"save,omitempty"`
}

// StrongCustomerAuthentication is the 3DSv2 browser and purchase data Pi needs to run a
// challenge (opayo.md §2.4). NotificationURL receives the shopper's browser with cres after the
// challenge.
type StrongCustomerAuthentication struct {
	NotificationURL          string `json:"notificationURL"`
	BrowserIP                string `json:"browserIP"`
	BrowserAcceptHeader      string `json:"browserAcceptHeader"`
	BrowserJavascriptEnabled bool   `json:"browserJavascriptEnabled"`
	BrowserJavaEnabled       *bool  `json:"browserJavaEnabled,omitempty"`
	BrowserLanguage          string `json:"browserLanguage"`
	BrowserColorDepth        string `json:"browserColorDepth,omitempty"`
	BrowserScreenHeight      string `json:"browserScreenHeight,omitempty"`
	BrowserScreenWidth       string `json:"browserScreenWidth,omitempty"`
	BrowserTZ                string `json:"browserTZ,omitempty"`
	BrowserUserAgent         string `json:"browserUserAgent"`
	// ChallengeWindowSize is Small, Medium, Large, ExtraLarge or FullScreen.
	ChallengeWindowSize string `json:"challengeWindowSize"`
	// TransType is e.g. "GoodsAndServicePurchase".
	TransType                    string `json:"transType"`
	ThreeDSRequestorChallengeInd string `json:"threeDSRequestorChallengeInd,omitempty"`
	ThreeDSExemptionIndicator    string `json:"threeDSExemptionIndicator,omitempty"`
	Website                      string `json:"website,omitempty"`
}

// CredentialType declares a card-on-file use (opayo.md §2.4): saving a card needs COFUsage
// "First" with SCA and Apply3DSecure Force; later merchant-initiated charges use "Subsequent".
type CredentialType struct {
	// COFUsage is First or Subsequent.
	COFUsage string `json:"cofUsage"`
	// InitiatedType is CIT or MIT.
	InitiatedType string `json:"initiatedType"`
	// MITType is Unscheduled, Recurring, Instalment, ... (MIT only).
	MITType string `json:"mitType,omitempty"`
	// RecurringExpiry is YYYYMMDD.
	RecurringExpiry    string `json:"recurringExpiry,omitempty"`
	RecurringFrequency string `json:"recurringFrequency,omitempty"`
	PurchaseInstalData string `json:"purchaseInstalData,omitempty"`
}

// PaymentRequest creates a Payment, Deferred or Authenticate transaction: the three types that
// take a card. Amount is in major units of Currency; an Authenticate may be zero to store a card.
type PaymentRequest struct {
	// Type is TransactionPayment (the default when empty), TransactionDeferred or
	// TransactionAuthenticate.
	Type TransactionType
	// VendorTxCode is Payhub's unique reference, at most 40 characters; it is the key for
	// finding the transaction again after a lost response.
	VendorTxCode string
	Amount       decimal.Decimal
	// Currency is ISO 4217, e.g. "GBP".
	Currency    string
	Description string
	Card        CardMethod

	CustomerFirstName string
	CustomerLastName  string
	CustomerEmail     string
	CustomerPhone     string
	BillingAddress    Address
	ShippingDetails   *ShippingDetails

	EntryMethod      EntryMethod
	Apply3DSecure    CheckSetting
	ApplyAvsCvcCheck CheckSetting
	GiftAid          bool

	ReferrerID              string
	SettlementReferenceText string

	StrongCustomerAuthentication *StrongCustomerAuthentication
	CredentialType               *CredentialType
}

// TransactionType implements TransactionRequest.
func (r PaymentRequest) TransactionType() TransactionType {
	if r.Type == "" {
		return TransactionPayment
	}
	return r.Type
}

// AmountCurrency implements TransactionRequest.
func (r PaymentRequest) AmountCurrency() string { return r.Currency }

func (r PaymentRequest) wire(op string) (*wireTransactionRequest, error) {
	t := r.TransactionType()
	if t != TransactionPayment && t != TransactionDeferred && t != TransactionAuthenticate {
		return nil, invalidRequest(op, "PaymentRequest.Type %q must be Payment, Deferred or Authenticate", truncate(string(t), 20))
	}
	w, err := commonWire(op, t, r.VendorTxCode, r.Description, r.Amount, r.Currency)
	if err != nil {
		return nil, err
	}
	switch {
	case r.Card.CardIdentifier == "":
		return nil, invalidRequest(op, "paymentMethod.card.cardIdentifier is required")
	case r.Card.MerchantSessionKey == "" && !r.Card.Reusable:
		return nil, invalidRequest(op, "paymentMethod.card.merchantSessionKey is required for a card identifier that is not reusable")
	case r.CustomerFirstName == "" || r.CustomerLastName == "":
		return nil, invalidRequest(op, "customerFirstName and customerLastName are required")
	case r.BillingAddress.Address1 == "" || r.BillingAddress.City == "" || r.BillingAddress.Country == "":
		return nil, invalidRequest(op, "billingAddress.address1, city and country are required")
	}
	card := r.Card
	billing := r.BillingAddress
	w.Currency = r.Currency
	w.PaymentMethod = &wirePaymentMethod{Card: &card}
	w.CustomerFirstName, w.CustomerLastName = r.CustomerFirstName, r.CustomerLastName
	w.CustomerEmail, w.CustomerPhone = r.CustomerEmail, r.CustomerPhone
	w.BillingAddress = &billing
	w.ShippingDetails = r.ShippingDetails
	w.EntryMethod = string(r.EntryMethod)
	w.Apply3DSecure = string(r.Apply3DSecure)
	w.ApplyAvsCvcCheck = string(r.ApplyAvsCvcCheck)
	w.GiftAid = r.GiftAid
	w.ReferrerID = r.ReferrerID
	w.SettlementReferenceText = r.SettlementReferenceText
	w.StrongCustomerAuthentication = r.StrongCustomerAuthentication
	w.CredentialType = r.CredentialType
	return w, nil
}

// RepeatRequest charges the card of an earlier transaction again; the amount is not limited by
// the original's.
type RepeatRequest struct {
	ReferenceTransactionID string
	VendorTxCode           string
	Amount                 decimal.Decimal
	Currency               string
	Description            string
	ShippingDetails        *ShippingDetails
	GiftAid                bool
	CredentialType         *CredentialType
}

// TransactionType implements TransactionRequest.
func (RepeatRequest) TransactionType() TransactionType { return TransactionRepeat }

// AmountCurrency implements TransactionRequest.
func (r RepeatRequest) AmountCurrency() string { return r.Currency }

func (r RepeatRequest) wire(op string) (*wireTransactionRequest, error) {
	w, err := commonWire(op, TransactionRepeat, r.VendorTxCode, r.Description, r.Amount, r.Currency)
	if err != nil {
		return nil, err
	}
	if r.ReferenceTransactionID == "" {
		return nil, invalidRequest(op, "referenceTransactionId is required")
	}
	w.ReferenceTransactionID = r.ReferenceTransactionID
	w.Currency = r.Currency
	w.ShippingDetails = r.ShippingDetails
	w.GiftAid = r.GiftAid
	w.CredentialType = r.CredentialType
	return w, nil
}

// RefundRequest returns money from an earlier transaction. Refunds may be partial and
// repeated up to the original amount including surcharge; beyond that Opayo answers 1018.
type RefundRequest struct {
	ReferenceTransactionID string
	VendorTxCode           string
	Amount                 decimal.Decimal
	// Currency is the original transaction's currency. Pi takes no currency on a refund; it is
	// needed here to convert Amount to minor units.
	Currency    string
	Description string
}

// TransactionType implements TransactionRequest.
func (RefundRequest) TransactionType() TransactionType { return TransactionRefund }

// AmountCurrency implements TransactionRequest.
func (r RefundRequest) AmountCurrency() string { return r.Currency }

func (r RefundRequest) wire(op string) (*wireTransactionRequest, error) {
	w, err := commonWire(op, TransactionRefund, r.VendorTxCode, r.Description, r.Amount, r.Currency)
	if err != nil {
		return nil, err
	}
	if r.ReferenceTransactionID == "" {
		return nil, invalidRequest(op, "referenceTransactionId is required")
	}
	w.ReferenceTransactionID = r.ReferenceTransactionID
	return w, nil
}

// AuthoriseRequest takes payment against an earlier Authenticate, up to 115% of its amount.
type AuthoriseRequest struct {
	ReferenceTransactionID string
	VendorTxCode           string
	Amount                 decimal.Decimal
	// Currency is the Authenticate's currency, used only to convert Amount; Pi takes none.
	Currency         string
	Description      string
	ApplyAvsCvcCheck CheckSetting
	// SecurityCode is an optional CV2 to check with the authorisation.
	SecurityCode Secret
}

// TransactionType implements TransactionRequest.
func (AuthoriseRequest) TransactionType() TransactionType { return TransactionAuthorise }

// AmountCurrency implements TransactionRequest.
func (r AuthoriseRequest) AmountCurrency() string { return r.Currency }

func (r AuthoriseRequest) wire(op string) (*wireTransactionRequest, error) {
	w, err := commonWire(op, TransactionAuthorise, r.VendorTxCode, r.Description, r.Amount, r.Currency)
	if err != nil {
		return nil, err
	}
	if r.ReferenceTransactionID == "" {
		return nil, invalidRequest(op, "referenceTransactionId is required")
	}
	w.ReferenceTransactionID = r.ReferenceTransactionID
	w.ApplyAvsCvcCheck = string(r.ApplyAvsCvcCheck)
	w.CV2 = string(r.SecurityCode)
	return w, nil
}

// commonWire checks and fills the fields every transaction type has.
func commonWire(op string, t TransactionType, vendorTxCode, description string, amount decimal.Decimal, currency string) (*wireTransactionRequest, error) {
	switch n := utf8.RuneCountInString(vendorTxCode); {
	case n == 0:
		return nil, invalidRequest(op, "vendorTxCode is required")
	case n > vendorTxCodeMax:
		return nil, invalidRequest(op, "vendorTxCode is %d characters; Opayo allows %d", n, vendorTxCodeMax)
	}
	if description == "" {
		return nil, invalidRequest(op, "description is required")
	}
	minor, err := ToMinorUnits(amount, currency)
	if err != nil {
		return nil, invalidRequest(op, "amount: %s", err.Error())
	}
	return &wireTransactionRequest{TransactionType: string(t), VendorTxCode: vendorTxCode, Amount: minor, Description: description}, nil
}

// wireTransactionRequest is the POST /transactions body for every type; each request fills the
// fields its type takes.
type wireTransactionRequest struct {
	TransactionType              string                        `json:"transactionType"`
	PaymentMethod                *wirePaymentMethod            `json:"paymentMethod,omitempty"`
	ReferenceTransactionID       string                        `json:"referenceTransactionId,omitempty"`
	VendorTxCode                 string                        `json:"vendorTxCode"`
	Amount                       int64                         `json:"amount"`
	Currency                     string                        `json:"currency,omitempty"`
	Description                  string                        `json:"description"`
	CustomerFirstName            string                        `json:"customerFirstName,omitempty"`
	CustomerLastName             string                        `json:"customerLastName,omitempty"`
	CustomerEmail                string                        `json:"customerEmail,omitempty"`
	CustomerPhone                string                        `json:"customerPhone,omitempty"`
	BillingAddress               *Address                      `json:"billingAddress,omitempty"`
	ShippingDetails              *ShippingDetails              `json:"shippingDetails,omitempty"`
	EntryMethod                  string                        `json:"entryMethod,omitempty"`
	Apply3DSecure                string                        `json:"apply3DSecure,omitempty"`
	ApplyAvsCvcCheck             string                        `json:"applyAvsCvcCheck,omitempty"`
	GiftAid                      bool                          `json:"giftAid,omitempty"`
	ReferrerID                   string                        `json:"referrerId,omitempty"`
	SettlementReferenceText      string                        `json:"settlementReferenceText,omitempty"`
	StrongCustomerAuthentication *StrongCustomerAuthentication `json:"strongCustomerAuthentication,omitempty"`
	CredentialType               *CredentialType               `json:"credentialType,omitempty"`
	CV2                          string                        `json:"cv2,omitempty"`
}

type wirePaymentMethod struct {
	Card *CardMethod `json:"card,omitempty"`
}
