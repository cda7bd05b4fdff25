package cybersource

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// This file holds the JSON shapes several endpoints share.

// Link is one HAL link from a response's _links.
type Link struct {
	Href   string `json:"href"`
	Method string `json:"method,omitempty"`
}

// UnmarshalJSON accepts a link object, an array of them (the first is kept) or a bare href string,
// because HAL allows all three and Cybersource's endpoints differ.
func (l *Link) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return nil
	case b[0] == '[':
		var many []Link
		if err := json.Unmarshal(b, &many); err != nil {
			return err
		}
		if len(many) > 0 {
			*l = many[0]
		}
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &l.Href)
	}
	type plain Link
	return json.Unmarshal(b, (*plain)(l))
}

// Links is a response's _links by relation name (self, capture, authReversal, void, refund…).
type Links map[string]Link

// Href returns the href of relation rel, or "".
func (l Links) Href(rel string) string { return l[rel].Href }

// Code is a Cybersource code or count that the API writes as a JSON string in some responses and
// as a number in others (reasonCode, rCode, score.result).
type Code string

// UnmarshalJSON accepts a string, a number, a boolean or null.
func (c *Code) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Code(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*c = ""
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v.(type) {
	case float64, bool:
		*c = Code(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: "object", Type: codeType}
}

// String returns the code as text.
func (c Code) String() string { return string(c) }

var codeType = reflect.TypeFor[Code]()

// ClientReference is clientReferenceInformation: the merchant reference code (MRN) and the
// merchant transaction id (MTI) that timeout voids and reversals key on.
type ClientReference struct {
	Code          string `json:"code,omitempty"`
	TransactionID string `json:"transactionId,omitempty"`
}

// ErrorInformation is a 201 answer's reason for a decline, review or failure.
type ErrorInformation struct {
	Reason  string        `json:"reason,omitempty"`
	Message string        `json:"message,omitempty"`
	Details []ErrorDetail `json:"details,omitempty"`
}

// Address is orderInformation.billTo or shipTo, and a TMS instrument's billTo.
type Address struct {
	FirstName          string `json:"firstName,omitempty"`
	LastName           string `json:"lastName,omitempty"`
	Company            string `json:"company,omitempty"`
	Address1           string `json:"address1,omitempty"`
	Address2           string `json:"address2,omitempty"`
	Locality           string `json:"locality,omitempty"`
	AdministrativeArea string `json:"administrativeArea,omitempty"`
	PostalCode         string `json:"postalCode,omitempty"`
	Country            string `json:"country,omitempty"`
	Email              string `json:"email,omitempty"`
	PhoneNumber        string `json:"phoneNumber,omitempty"`
}

// ProcessorCode is a processor result with Cybersource's mapping and the processor's raw value,
// as in processorInformation.avs {code, codeRaw}.
type ProcessorCode struct {
	Code    string `json:"code,omitempty"`
	CodeRaw string `json:"codeRaw,omitempty"`
}

// CardVerification is processorInformation.cardVerification: the CVN result.
type CardVerification struct {
	ResultCode    string `json:"resultCode,omitempty"`
	ResultCodeRaw string `json:"resultCodeRaw,omitempty"`
}

// ProcessorInformation is what the card processor answered.
type ProcessorInformation struct {
	ApprovalCode         string           `json:"approvalCode,omitempty"`
	TransactionID        string           `json:"transactionId,omitempty"`
	NetworkTransactionID string           `json:"networkTransactionId,omitempty"`
	ResponseCode         string           `json:"responseCode,omitempty"`
	AVS                  ProcessorCode    `json:"avs"`
	CardVerification     CardVerification `json:"cardVerification"`
}

// RiskProfile is riskInformation.profile; Decision (ACCEPT, REJECT, REVIEW) appears in TSS views.
type RiskProfile struct {
	Name         string `json:"name,omitempty"`
	SelectorRule string `json:"selectorRule,omitempty"`
	Decision     string `json:"decision,omitempty"`
}

// RiskRule is one Decision Manager rule that fired.
type RiskRule struct {
	Name     string `json:"name,omitempty"`
	Decision string `json:"decision,omitempty"`
}

// RiskScore is riskInformation.score.
type RiskScore struct {
	Result      Code     `json:"result,omitempty"`
	FactorCodes []string `json:"factorCodes,omitempty"`
	ModelUsed   string   `json:"modelUsed,omitempty"`
}

// RiskInformation is Decision Manager's view of a transaction.
type RiskInformation struct {
	Profile      RiskProfile     `json:"profile"`
	Rules        []RiskRule      `json:"rules,omitempty"`
	InfoCodes    json.RawMessage `json:"infoCodes,omitempty"`
	Score        RiskScore       `json:"score"`
	CasePriority Code            `json:"casePriority,omitempty"`
}

// TokenRef is one TMS token in a payment's tokenInformation.
type TokenRef struct {
	ID    string `json:"id,omitempty"`
	State string `json:"state,omitempty"`
}

// TokenInformation is the tokens a TOKEN_CREATE action made or a payment used.
type TokenInformation struct {
	InstrumentIdentifierNew bool     `json:"instrumentIdentifierNew,omitempty"`
	Customer                TokenRef `json:"customer"`
	PaymentInstrument       TokenRef `json:"paymentInstrument"`
	ShippingAddress         TokenRef `json:"shippingAddress"`
	InstrumentIdentifier    TokenRef `json:"instrumentIdentifier"`
	// JTI is the id of the transient token a payment was made with (Transaction Details only).
	JTI string `json:"jti,omitempty"`
}

// MerchantDefinedField is one merchantDefinedInformation entry.
type MerchantDefinedField struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
