package cybersourcesim

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// The request bodies the simulator reads (protocol doc §3, §4). Unknown fields are ignored, as the
// SDK sends many the simulator has no use for.

type clientReferenceIn struct {
	Code          string `json:"code"`
	TransactionID string `json:"transactionId"`
}

type amountDetailsIn struct {
	TotalAmount wireAmount `json:"totalAmount"`
	Currency    string     `json:"currency"`
}

// Address is a billTo or shipTo, as sent and as kept.
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

type orderInformationIn struct {
	AmountDetails amountDetailsIn `json:"amountDetails"`
	BillTo        *Address        `json:"billTo"`
	ShipTo        *Address        `json:"shipTo"`
	LineItems     []lineItemIn    `json:"lineItems"`
}

// lineItemIn is one orderInformation.lineItems entry as sent.
type lineItemIn struct {
	ProductCode string     `json:"productCode"`
	ProductName string     `json:"productName"`
	ProductSKU  string     `json:"productSku"`
	Quantity    wireAmount `json:"quantity"`
	UnitPrice   wireAmount `json:"unitPrice"`
	TaxAmount   wireAmount `json:"taxAmount"`
	TotalAmount wireAmount `json:"totalAmount"`
}

type cardIn struct {
	Number          string `json:"number"`
	ExpirationMonth string `json:"expirationMonth"`
	ExpirationYear  string `json:"expirationYear"`
	SecurityCode    string `json:"securityCode"`
	Type            string `json:"type"`
}

type idIn struct {
	ID string `json:"id"`
}

type paymentInformationIn struct {
	Card                 *cardIn `json:"card"`
	TokenizedCard        *cardIn `json:"tokenizedCard"`
	Customer             *idIn   `json:"customer"`
	PaymentInstrument    *idIn   `json:"paymentInstrument"`
	InstrumentIdentifier *idIn   `json:"instrumentIdentifier"`
	ShippingAddress      *idIn   `json:"shippingAddress"`
}

type processingInformationIn struct {
	Capture           bool     `json:"capture"`
	CommerceIndicator string   `json:"commerceIndicator"`
	ActionList        []string `json:"actionList"`
	ActionTokenTypes  []string `json:"actionTokenTypes"`
}

// has reports whether the action list names action.
func (p processingInformationIn) has(action string) bool {
	for _, a := range p.ActionList {
		if strings.EqualFold(a, action) {
			return true
		}
	}
	return false
}

type riskInformationIn struct {
	Profile *struct {
		Name string `json:"name"`
	} `json:"profile"`
}

// paymentRequest is POST /pts/v2/payments and POST /pts/v2/credits.
type paymentRequest struct {
	ClientReferenceInformation clientReferenceIn       `json:"clientReferenceInformation"`
	ProcessingInformation      processingInformationIn `json:"processingInformation"`
	PaymentInformation         paymentInformationIn    `json:"paymentInformation"`
	OrderInformation           orderInformationIn      `json:"orderInformation"`
	RiskInformation            *riskInformationIn      `json:"riskInformation"`
	TokenInformation           *tokenInformationIn     `json:"tokenInformation"`
}

// tokenInformationIn is a payment's tokenInformation: a Flex transient token in place of card data.
type tokenInformationIn struct {
	TransientTokenJwt string `json:"transientTokenJwt"`
}

// followOnRequest is a capture, refund or void body.
type followOnRequest struct {
	ClientReferenceInformation clientReferenceIn `json:"clientReferenceInformation"`
	OrderInformation           struct {
		AmountDetails amountDetailsIn `json:"amountDetails"`
	} `json:"orderInformation"`
}

// reversalRequest is POST /pts/v2/payments/{id}/reversals and POST /pts/v2/reversals.
type reversalRequest struct {
	ClientReferenceInformation clientReferenceIn `json:"clientReferenceInformation"`
	ReversalInformation        struct {
		AmountDetails amountDetailsIn `json:"amountDetails"`
		Reason        string          `json:"reason"`
	} `json:"reversalInformation"`
}

// wireAmount is an amount as sent: a JSON string ("102.21") or, leniently, a JSON number. It
// keeps the text so that it is parsed into a decimal without passing through float64.
type wireAmount struct {
	raw string
	set bool
}

// UnmarshalJSON keeps the amount's text.
func (a *wireAmount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	a.set = true
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &a.raw)
	}
	a.raw = string(b)
	return nil
}

func (a wireAmount) present() bool { return a.set && strings.TrimSpace(a.raw) != "" }

var amountSyntax = regexp.MustCompile(`^-?[0-9]+(\.[0-9]*)?$`)

// parseAmount reads a money amount. Text that is not a plain decimal is INVALID_DATA; a decimal
// that is not a valid amount for the currency (not positive, too many decimals, too large) is
// INVALID_AMOUNT.
func parseAmount(now time.Time, field, raw, currency string) (decimal.Decimal, *apiError) {
	d, e := parseDecimal(now, field, raw)
	if e != nil {
		return decimal.Zero, e
	}
	bad := func(why string) *apiError {
		return invalidRequest(now, reasonInvalidAmount, "Declined - The amount is invalid: "+field+" "+why,
			fieldDetail{Field: field, Reason: reasonInvalidAmount})
	}
	switch {
	case !d.IsPositive():
		return decimal.Zero, bad("must be greater than zero")
	case -d.Exponent() > int32(currencyExponent(currency)) && !d.Equal(d.Round(int32(currencyExponent(currency)))):
		return decimal.Zero, bad("has more decimal places than " + currency + " allows")
	case d.GreaterThan(maxAmount):
		return decimal.Zero, bad("exceeds the maximum amount")
	}
	return d.Round(int32(currencyExponent(currency))), nil
}

// parseDecimal reads a plain decimal; anything else is INVALID_DATA.
func parseDecimal(now time.Time, field, raw string) (decimal.Decimal, *apiError) {
	raw = strings.TrimSpace(raw)
	if !amountSyntax.MatchString(raw) {
		return decimal.Zero, invalidField(now, field, "is not a decimal amount")
	}
	d, err := decimal.NewFromString(raw)
	if err != nil {
		return decimal.Zero, invalidField(now, field, "is not a decimal amount")
	}
	return d, nil
}

var maxAmount = decimal.RequireFromString("999999999.99")

var currencySyntax = regexp.MustCompile(`^[A-Z]{3}$`)

// zeroDecimalCurrencies have no minor unit.
var zeroDecimalCurrencies = map[string]bool{"JPY": true, "KRW": true, "VND": true, "CLP": true, "ISK": true, "UGX": true}

func currencyExponent(currency string) int {
	if zeroDecimalCurrencies[strings.ToUpper(currency)] {
		return 0
	}
	return 2
}

// money formats an amount the way Cybersource sends it: a string with the currency's decimals.
func money(d decimal.Decimal, currency string) string {
	return d.StringFixed(int32(currencyExponent(currency)))
}

// decodeJSON reads a request body; an empty body is an empty object.
func decodeJSON(now time.Time, body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalidRequest(now, reasonInvalidData, messageInvalidDataPrefix+": the body is not valid JSON for this request ("+err.Error()+")")
	}
	return nil
}

// readAmount validates totalAmount and currency at prefix (e.g. "orderInformation.amountDetails"),
// collecting missing fields into missing.
func readAmount(now time.Time, prefix string, ad amountDetailsIn, missing *[]string) (decimal.Decimal, string, *apiError) {
	if !ad.TotalAmount.present() {
		*missing = append(*missing, prefix+".totalAmount")
	}
	currency := strings.ToUpper(strings.TrimSpace(ad.Currency))
	if currency == "" {
		*missing = append(*missing, prefix+".currency")
	}
	if !ad.TotalAmount.present() || currency == "" {
		return decimal.Zero, currency, nil
	}
	if !currencySyntax.MatchString(currency) {
		return decimal.Zero, currency, invalidField(now, prefix+".currency", "is not an ISO 4217 code")
	}
	amt, err := parseAmount(now, prefix+".totalAmount", ad.TotalAmount.raw, currency)
	return amt, currency, err
}
