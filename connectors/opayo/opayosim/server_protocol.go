package opayosim

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ServerProtocolVersion is the Server protocol version the simulator answers in; 3.00 is accepted
// too (its VPSSignature chain stops at BankAuthCode).
const ServerProtocolVersion = "4.00"

// serverRegistration is what a Server-protocol registration adds to a transaction.
type serverRegistration struct {
	protocol        string
	txType          string // PAYMENT, DEFERRED or AUTHENTICATE
	notificationURL string
}

var (
	formVendorTxCodePattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	formTxTypes             = map[string]string{"PAYMENT": typePayment, "DEFERRED": typeDeferred, "AUTHENTICATE": typeAuthenticate}
	formCheckModes          = map[string]string{"": "UseMSPSetting", "0": "UseMSPSetting", "1": "Force", "2": "Disable", "3": "ForceIgnoringRules"}
)

// writeFormReply writes a form-protocol reply: Name=Value lines separated by CRLF.
func writeFormReply(w http.ResponseWriter, lines [][2]string) {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l[0] + "=" + l[1] + "\r\n")
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, b.String())
}

// formCheck is one field rule of a registration, in the order Opayo reports them.
type formCheck struct {
	status, code, text string
	failed             bool
}

// registerServerTransaction answers POST ServerRegisterPath (opayo.md §4.1 step 1).
func (s *Server) registerServerTransaction(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f := r.PostForm
	get := func(name string) string { return strings.TrimSpace(f.Get(name)) }
	protocol := get("VPSProtocol")
	replyProtocol := ServerProtocolVersion
	if protocol == "3.00" {
		replyProtocol = protocol
	}
	fail := func(status, code, text string) {
		writeFormReply(w, [][2]string{{"VPSProtocol", replyProtocol}, {"Status", status}, {"StatusDetail", code + " : " + text}})
	}
	txType := strings.ToUpper(get("TxType"))
	currency := strings.ToUpper(get("Currency"))
	country := strings.ToUpper(get("BillingCountry"))
	deliveryCountry := strings.ToUpper(get("DeliveryCountry"))
	amountText := get("Amount")
	var amount int64
	var amountCode string
	if amountText != "" && knownCurrency(currency) {
		amount, amountCode = parseFormAmount(amountText, currency)
	}
	notificationURL := get("NotificationURL")
	nu, nuErr := url.Parse(notificationURL)
	checks := []formCheck{
		{"MALFORMED", "3096", "The VPSProtocol value is required.", protocol == ""},
		{"INVALID", "3098", "The VPSProtocol value is not supported by the system in use.", protocol != "4.00" && protocol != "3.00"},
		{"MALFORMED", "3039", "The TxType or PaymentType is missing.", txType == ""},
		{"INVALID", "3014", "The TxType or PaymentType is invalid.", formTxTypes[txType] == ""},
		{"MALFORMED", "3034", "The Vendor or VendorName value is required.", get("Vendor") == ""},
		{"INVALID", "4000", "The VendorName is invalid or the account is not active.", !strings.EqualFold(get("Vendor"), s.opts.Vendor)},
		{"MALFORMED", "3009", "The VendorTxCode is missing.", get("VendorTxCode") == ""},
		{"INVALID", "3080", "The VendorTxCode value is too long.", len(get("VendorTxCode")) > 40},
		{"INVALID", "3035", "The VendorTxCode format is invalid.", !formVendorTxCodePattern.MatchString(get("VendorTxCode"))},
		{"MALFORMED", "3045", "The Currency field is missing.", currency == ""},
		{"INVALID", "3003", "The Currency is invalid.", !knownCurrency(currency)},
		{"MALFORMED", "3031", "The Amount value is required.", amountText == ""},
		{"INVALID", "3032", "The Amount format is invalid.", amountCode == "3032"},
		{"INVALID", "3056", "Invalid Amount field format. The Amount value contains a decimal point.", amountCode == "3056"},
		{"INVALID", "3006", "The fractional part of the Amount is invalid for the specified currency.", amountCode == "3006"},
		{"INVALID", "3005", "The Amount is outside the mininum and maximum limits.", amountCode == "3005"},
		{"MALFORMED", "3013", "The Description is missing.", get("Description") == ""},
		{"INVALID", "3082", "The Description value is too long.", len([]rune(get("Description"))) > 100},
		{"INVALID", "3076", "The NotificationURL is required.", notificationURL == ""},
		{"INVALID", "3037", "The NotificationURL is too long.", len(notificationURL) > 255},
		{"INVALID", "3011", "The NotificationURL format is invalid.", nuErr != nil || (nu.Scheme != "http" && nu.Scheme != "https") || nu.Host == ""},
		{"MALFORMED", "3107", "The BillingSurname field is required.", get("BillingSurname") == ""},
		{"INVALID", "3108", "The BillingSurname value is too long.", len([]rune(get("BillingSurname"))) > 20},
		{"MALFORMED", "3109", "The BillingFirstnames field is required.", get("BillingFirstnames") == ""},
		{"INVALID", "3110", "The BillingFirstnames value is Too long.", len([]rune(get("BillingFirstnames"))) > 20},
		{"MALFORMED", "3111", "The BillingAddress1 field is required.", get("BillingAddress1") == ""},
		{"INVALID", "3112", "The BillingAddress1 value is Too long.", len([]rune(get("BillingAddress1"))) > 100},
		{"MALFORMED", "3114", "The BillingCity field is required.", get("BillingCity") == ""},
		{"MALFORMED", "3090", "The BillingPostCode is required.", get("BillingPostCode") == "" && country != "IE"},
		{"MALFORMED", "3117", "The BillingCountry field is required.", country == ""},
		{"INVALID", "3141", "The BillingCountry value is invalid.", !countryPattern.MatchString(country)},
		{"MALFORMED", "3147", "The BillingState field is required.", country == "US" && get("BillingState") == ""},
		{"MALFORMED", "3118", "The DeliverySurname field is required.", get("DeliverySurname") == ""},
		{"MALFORMED", "3120", "The DeliveryFirstnames field is required.", get("DeliveryFirstnames") == ""},
		{"MALFORMED", "3122", "The DeliveryAddress1 field is required.", get("DeliveryAddress1") == ""},
		{"MALFORMED", "3144", "The Delivery information is required.", get("DeliveryCity") == ""},
		{"MALFORMED", "3094", "The DeliveryPostcode is required.", get("DeliveryPostCode") == "" && deliveryCountry != "IE"},
		{"MALFORMED", "3128", "The DeliveryCountry field is required.", deliveryCountry == ""},
		{"INVALID", "3140", "The DeliveryCountry value is invalid.", !countryPattern.MatchString(deliveryCountry)},
		{"MALFORMED", "3148", "The DeliveryState field is required.", deliveryCountry == "US" && get("DeliveryState") == ""},
		{"INVALID", "3022", "The CustomerEMail is too long.", len(get("CustomerEMail")) > 255},
		{"INVALID", "3018", "The GiftAid flag is invalid. If a value is supplied, should contain either 0 or 1.", get("AllowGiftAid") != "" && get("AllowGiftAid") != "0" && get("AllowGiftAid") != "1"},
		{"INVALID", "3019", "The ApplyAVSCV2 flag is invalid. The value, if supplied, should contain either 0, 1, 2 or 3.", formCheckModes[get("ApplyAVSCV2")] == ""},
		{"INVALID", "3020", "The Apply3DSecure flag is invalid. The value, if supplied, should contain either 0, 1, 2 or 3.", formCheckModes[get("Apply3DSecure")] == ""},
	}
	for _, c := range checks {
		if c.failed {
			fail(c.status, c.code, c.text)
			return
		}
	}

	base := s.baseURL(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	code := get("VendorTxCode")
	for _, prev := range s.byVendorTxCode[code] {
		if prev.server == nil || prev.txState != txStateCardSelection {
			fail("INVALID", "4042", piErrorText[4042])
			return
		}
		switch {
		case prev.server.txType != txType:
			fail("MALFORMED", "4004", "An active transaction with this VendorTxCode has been found but the TxType is different.")
		case prev.amount != amount:
			fail("MALFORMED", "4002", "An active transaction with this VendorTxCode has been found but the Amount is different.")
		case prev.currency != currency:
			fail("MALFORMED", "4003", "An active transaction with this VendorTxCode has been found but the Currency is different.")
		default:
			s.writeRegistered(w, prev, base, "OK REPEATED", "4042 : "+piErrorText[4042])
		}
		return
	}

	now := s.clock.Now()
	t := s.newTransaction(originServer, formTxTypes[txType], code, amount, currency, get("Description"), now)
	t.txState = txStateCardSelection
	t.giftAid = get("AllowGiftAid") == "1"
	t.applyAvs, t.apply3DS = formCheckModes[get("ApplyAVSCV2")], formCheckModes[get("Apply3DSecure")]
	t.customer = customerDetails{
		firstName: get("BillingFirstnames"), lastName: get("BillingSurname"),
		email: get("CustomerEMail"), phone: get("BillingPhone"),
		billing: address{Address1: get("BillingAddress1"), Address2: get("BillingAddress2"), City: get("BillingCity"),
			PostalCode: get("BillingPostCode"), Country: country, State: get("BillingState")},
		deliveryFirstName: get("DeliveryFirstnames"), deliveryLastName: get("DeliverySurname"),
		delivery: address{Address1: get("DeliveryAddress1"), Address2: get("DeliveryAddress2"), City: get("DeliveryCity"),
			PostalCode: get("DeliveryPostCode"), Country: deliveryCountry, State: get("DeliveryState")},
	}
	t.server = &serverRegistration{protocol: protocol, txType: txType, notificationURL: notificationURL}
	s.store(t)
	s.writeRegistered(w, t, base, "OK", "0000 : The Transaction was Registered Successfully.")
}

func (s *Server) writeRegistered(w http.ResponseWriter, t *transaction, base, status, detail string) {
	writeFormReply(w, [][2]string{
		{"VPSProtocol", t.server.protocol},
		{"Status", status},
		{"StatusDetail", detail},
		{"VPSTxId", braced(t.id)},
		{"SecurityKey", t.securityKey},
		{"NextURL", base + CardSelectionPath + "?vpstxid=" + braced(t.id)},
	})
}

// showCardSelection is the shopper's payment page (GET NextURL).
func (s *Server) showCardSelection(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t := s.txs[unbraced(r.URL.Query().Get("vpstxid"))]
	if t == nil || t.server == nil {
		s.mu.Unlock()
		writeHTML(w, http.StatusNotFound, "Opayo", "<p>5036 : The transaction not found.</p>")
		return
	}
	page := cardForm(t, r.URL.RequestURI(), "")
	s.mu.Unlock()
	writeHTML(w, http.StatusOK, "Opayo sandbox payment", page)
}

// cardForm renders the payment form, with an error line when the last attempt was refused.
func cardForm(t *transaction, action, errLine string) string {
	if t.txState != txStateCardSelection {
		return "<p>5004 : The Transaction state is invalid.</p>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<p>%s: %s %s</p>\n", html.EscapeString(t.description), formatMajor(t.amount, t.currency), t.currency)
	if errLine != "" {
		fmt.Fprintf(&b, "<p class=\"error\">%s</p>\n", html.EscapeString(errLine))
	}
	fmt.Fprintf(&b, `<form method="POST" action="%s">
<label>Cardholder <input name="CardHolder"></label>
<label>Card number <input name="CardNumber" autocomplete="cc-number"></label>
<label>Expiry (MMYY) <input name="ExpiryDate"></label>
<label>Security code <input name="CV2"></label>
<button type="submit" name="action" value="pay">Pay</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</form>`, html.EscapeString(action))
	return b.String()
}

// validateFormCard checks the payment page fields with the legacy codes (5010–5028). It returns the
// card as the gateway keeps it and the CV2, or an error line "NNNN : text".
func validateFormCard(f url.Values, now time.Time) (cardInfo, string, string) {
	holder := strings.TrimSpace(f.Get("CardHolder"))
	pan := strings.NewReplacer(" ", "", "-", "").Replace(f.Get("CardNumber"))
	expiry := strings.TrimSpace(f.Get("ExpiryDate"))
	cv2 := strings.TrimSpace(f.Get("CV2"))
	switch {
	case holder == "":
		return cardInfo{}, "", "5012 : The CardHolder name is required."
	case len([]rune(holder)) > 50:
		return cardInfo{}, "", "5024 : The CardHolder value is too long."
	case pan == "":
		return cardInfo{}, "", "5010 : The CardNumber is required."
	}
	profile, check := profileFor(pan)
	switch check {
	case cardNotNumeric:
		return cardInfo{}, "", "5026 : The Card Number is not numeric."
	case cardFailsLuhn:
		return cardInfo{}, "", "5011 : The check digit invalid. Card failed the LUHN check. Check the card number and resubmit."
	case cardUnsupported:
		return cardInfo{}, "", "5015 : Card validation failure."
	}
	if expiry == "" {
		return cardInfo{}, "", "5014 : The card expiry date is required."
	}
	ok, expired := parseExpiry(expiry, now)
	switch {
	case !ok:
		return cardInfo{}, "", "5028 : The Card Expiry Date is invalid."
	case expired:
		return cardInfo{}, "", "5013 : The card has expired."
	case cv2 == "":
		return cardInfo{}, "", "5017 : The Security Code is required."
	case strings.Trim(cv2, "0123456789") != "":
		return cardInfo{}, "", "5019 : The Security Code is not a number."
	case !validSecurityCode(cv2):
		return cardInfo{}, "", "5018 : The Security Code length is invalid."
	}
	return cardInfo{profile: profile, cardType: profile.CardType, last4: lastFour(pan), expiry: expiry, cardholder: holder}, cv2, ""
}

// payCardSelection takes the shopper's card (POST NextURL): it authorises with the sandbox card
// rules, notifies the vendor (first attempt inline), and answers the shopper with a 302 to the
// vendor's RedirectURL, or an error page when the vendor gave none.
func (s *Server) payCardSelection(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	t := s.txs[unbraced(r.URL.Query().Get("vpstxid"))]
	if t == nil || t.server == nil {
		s.mu.Unlock()
		writeHTML(w, http.StatusNotFound, "Opayo", "<p>5036 : The transaction not found.</p>")
		return
	}
	if t.txState != txStateCardSelection {
		s.mu.Unlock()
		writeHTML(w, http.StatusOK, "Opayo", "<p>5004 : The Transaction state is invalid.</p>")
		return
	}
	now := s.clock.Now()
	if r.PostForm.Get("action") == "cancel" {
		t.status, t.statusCode, t.statusDetail, t.txState = statusRejected, "2013", detailCustomerAborted, txStateCustomerAborted
		t.completedAt = now
	} else {
		card, cv2, errLine := validateFormCard(r.PostForm, now)
		if errLine != "" {
			page := cardForm(t, r.URL.RequestURI(), errLine)
			s.mu.Unlock()
			writeHTML(w, http.StatusOK, "Opayo sandbox payment", page)
			return
		}
		t.card = &card
		t.threeDS = "NotChecked"
		s.finishCardTransaction(t, cv2, now)
	}
	d := s.newDelivery(t, now)
	s.mu.Unlock()

	s.attemptDelivery(d, now)

	s.mu.Lock()
	accepted, redirect := d.accepted, d.redirectURL
	s.mu.Unlock()
	if accepted && redirect != "" {
		http.Redirect(w, r, redirect, http.StatusFound)
		return
	}
	writeHTML(w, http.StatusOK, "Opayo", "<p>5006 : Unable to redirect to Vendor's web site. The Vendor failed to provide a RedirectionURL.</p>")
}
