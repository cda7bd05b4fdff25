package opayosim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strings"
)

// threeDSChallenge is a pending 3DSv2 challenge (opayo.md §2.6).
type threeDSChallenge struct {
	acsTransID           string
	dsTransID            string
	threeDSServerTransID string
	notificationURL      string
	windowSize           string
	result               string // Pi 3DSecure.status once the shopper answered the ACS
	completed            bool   // the 3d-secure-challenge call was made
}

func newChallenge(notificationURL, windowSize string) *threeDSChallenge {
	return &threeDSChallenge{
		acsTransID:           strings.ToLower(newGUID()),
		dsTransID:            strings.ToLower(newGUID()),
		threeDSServerTransID: strings.ToLower(newGUID()),
		notificationURL:      notificationURL,
		windowSize:           windowSize,
	}
}

// challengeView is the 202 body of a transaction that needs a 3DSv2 challenge.
type challengeView struct {
	StatusCode    string `json:"statusCode"`
	StatusDetail  string `json:"statusDetail"`
	TransactionID string `json:"transactionId"`
	AcsTransID    string `json:"acsTransId"`
	DsTransID     string `json:"dsTransId"`
	AcsURL        string `json:"acsUrl"`
	CReq          string `json:"cReq"`
	Status        string `json:"status"`
}

// creqMessage and cresMessage are the EMV 3DS challenge messages, base64url-encoded JSON.
type creqMessage struct {
	ThreeDSServerTransID string `json:"threeDSServerTransID"`
	AcsTransID           string `json:"acsTransID"`
	ChallengeWindowSize  string `json:"challengeWindowSize"`
	MessageType          string `json:"messageType"`
	MessageVersion       string `json:"messageVersion"`
}

type cresMessage struct {
	ThreeDSServerTransID string `json:"threeDSServerTransID"`
	AcsTransID           string `json:"acsTransID"`
	MessageType          string `json:"messageType"`
	MessageVersion       string `json:"messageVersion"`
	TransStatus          string `json:"transStatus"`
}

// emvWindowSizes maps Pi's challengeWindowSize to the EMV code.
var emvWindowSizes = map[string]string{"Small": "01", "Medium": "02", "Large": "03", "ExtraLarge": "04", "FullScreen": "05"}

func (c *threeDSChallenge) view(t *transaction, base string) challengeView {
	creq, _ := json.Marshal(creqMessage{
		ThreeDSServerTransID: c.threeDSServerTransID,
		AcsTransID:           c.acsTransID,
		ChallengeWindowSize:  emvWindowSizes[c.windowSize],
		MessageType:          "CReq",
		MessageVersion:       "2.1.0",
	})
	return challengeView{
		StatusCode:    "2021",
		StatusDetail:  detail3DSChallenge,
		TransactionID: t.id,
		AcsTransID:    c.acsTransID,
		DsTransID:     c.dsTransID,
		AcsURL:        base + ACSPath,
		CReq:          base64.RawURLEncoding.EncodeToString(creq),
		Status:        status3DAuth,
	}
}

// decodeEMV decodes a base64url (padded or not, or standard base64) JSON message.
func decodeEMV(s string, v any) error {
	s = strings.TrimSpace(s)
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// acsOutcome maps the ACS password to a 3-D Secure result (test-card-details.md).
func acsOutcome(password string) (status, transStatus string) {
	switch password {
	case "password":
		return "Authenticated", "Y"
	case "E:N:06":
		return "Error", "U"
	case "A:D:06":
		return "AttemptOnly", "A"
	case "U:N:06":
		return "Incomplete", "U"
	}
	return "NotAuthenticated", "N"
}

// serveACS is the simulated issuer ACS at POST /_sim/acs. Without a password it shows the
// challenge page; with one it records the result and answers a page whose form posts cres and
// threeDSSessionData to the transaction's notificationURL. The simulator never posts it itself.
func (s *Server) serveACS(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeHTML(w, http.StatusBadRequest, "3-D Secure", "<p>Bad request.</p>")
		return
	}
	creqText := r.PostForm.Get("creq")
	sessionData := r.PostForm.Get("threeDSSessionData")
	var creq creqMessage
	if creqText == "" || decodeEMV(creqText, &creq) != nil {
		writeHTML(w, http.StatusBadRequest, "3-D Secure", "<p>Invalid or missing creq.</p>")
		return
	}
	s.mu.Lock()
	t := s.txs[s.acsIndex[creq.AcsTransID]]
	if t == nil || t.challenge == nil || t.challenge.completed {
		s.mu.Unlock()
		writeHTML(w, http.StatusBadRequest, "3-D Secure", "<p>Unknown or finished 3-D Secure transaction.</p>")
		return
	}
	ch := t.challenge
	if _, ok := r.PostForm["password"]; !ok {
		amount := formatMajor(t.amount, t.currency) + " " + t.currency
		s.mu.Unlock()
		writeHTML(w, http.StatusOK, "3-D Secure authentication", fmt.Sprintf(`<p>Opayo sandbox ACS: authenticate a payment of %s.</p>
<p>Password "password" authenticates; E:N:06, A:D:06 and U:N:06 give Error, AttemptOnly and Incomplete; anything else fails.</p>
<form method="POST" action="%s">
<input type="hidden" name="creq" value="%s">
<input type="hidden" name="threeDSSessionData" value="%s">
<input type="password" name="password" autofocus>
<button type="submit">Submit</button>
</form>`, html.EscapeString(amount), html.EscapeString(ACSPath), html.EscapeString(creqText), html.EscapeString(sessionData)))
		return
	}
	status, transStatus := acsOutcome(r.PostForm.Get("password"))
	ch.result = status
	cres, _ := json.Marshal(cresMessage{
		ThreeDSServerTransID: ch.threeDSServerTransID,
		AcsTransID:           ch.acsTransID,
		MessageType:          "CRes",
		MessageVersion:       "2.1.0",
		TransStatus:          transStatus,
	})
	target := ch.notificationURL
	s.mu.Unlock()
	writeHTML(w, http.StatusOK, "3-D Secure authentication", fmt.Sprintf(`<p>Authentication complete. Returning to the merchant&hellip;</p>
<form id="acs-return" method="POST" action="%s">
<input type="hidden" name="cres" value="%s">
<input type="hidden" name="threeDSSessionData" value="%s">
<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById("acs-return").submit();</script>`,
		html.EscapeString(target), base64.RawURLEncoding.EncodeToString(cres), html.EscapeString(sessionData)))
}

// completeChallenge answers POST /transactions/{id}/3d-secure-challenge {"cRes"}: it finishes the
// transaction with the ACS result (201 with the full transaction). A second call answers 403/1017.
func (s *Server) completeChallenge(r *http.Request) piReply {
	var req struct {
		CRes               string `json:"cRes"`
		ThreeDSSessionData string `json:"threeDSSessionData"`
	}
	bodyErr := decodePiBody(r, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookupPi(r.PathValue("id"))
	if t == nil {
		return piFailure(http.StatusNotFound, 1012)
	}
	if t.challenge == nil || t.challenge.completed {
		return piFailure(http.StatusForbidden, 1017)
	}
	if bodyErr != nil {
		return *bodyErr
	}
	var v violations
	if !v.required(req.CRes, "cRes", "cRes") {
		return piInvalid(v)
	}
	var cres cresMessage
	if err := decodeEMV(req.CRes, &cres); err != nil || cres.AcsTransID != t.challenge.acsTransID || t.challenge.result == "" {
		v.add(1009, "cRes", "The cRes is invalid")
		return piInvalid(v)
	}
	t.challenge.completed = true
	t.threeDS = t.challenge.result
	s.finishCardTransaction(t, t.pendingSecurityCode, s.clock.Now())
	return piReply{http.StatusCreated, t.piView()}
}

// writeHTML writes a minimal page.
func writeHTML(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n<body>\n<h1>%s</h1>\n%s\n</body></html>\n",
		html.EscapeString(title), html.EscapeString(title), body)
}
