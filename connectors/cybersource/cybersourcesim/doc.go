// Package cybersourcesim is an in-process, stateful Cybersource REST API for tests, the sandbox
// and the demo. It follows shared/protocols/cybersource.md and is checked against the official
// Node SDK (sdk_test.go); production code never imports it.
//
// # Authentication
//
// Every protocol request must carry an HTTP Signature (§2.1) or an HS256 JWT made with the shared
// secret (§2.2), for Options.MerchantID, Options.KeyID and Options.Secret (by default
// DefaultMerchantID, DefaultKeyID, DefaultSecret). The signature string is rebuilt from the
// signed headers list as received: request-target or (request-target) is the lower-cased method
// and the raw request URI, host is the Host header as received (the SDK signs
// apitest.cybersource.com while it connects to the simulator), keyid= or kid=, date or v-c-date.
// The signed list must include the request target, a date, v-c-merchant-id and, on POST, PUT and
// PATCH, digest, which is then checked over the raw body. A JWT's kid must be the key id, and its
// request-method, request-resource-path, digest and v-c-merchant-id (or iss) claims must match
// the request. Signed dates and a JWT's iat must be within Options.SignatureSkew (5 minutes) of
// the simulator clock or of the wall clock: the wall clock too, so that advancing the simulator
// clock does not lock out clients that sign with the real time. A failure answers 401
// {"response":{"rmsg":"Authentication Failed"}}, with the reason in the V-C-Sim-Auth-Error header.
//
// # Sandbox magic values
//
// Cards approve by default: 4111111111111111 (Visa, type 001), 5555555555554444 (Mastercard, 002),
// 378282246310005 (Amex, 003); 6011… and 65… are Discover (004). A security code, when sent, must
// be 3 digits (4 for Amex), else 400 INVALID_DATA. Then, in this order:
//
//   - A number failing the Luhn check: 201 DECLINED / INVALID_ACCOUNT.
//   - 4000000000000002: 201 DECLINED / PROCESSOR_DECLINED (responseCode 05).
//   - 4000000000009995: 201 DECLINED / INSUFFICIENT_FUND (51).
//   - An expiry month before the simulator clock's month: 201 DECLINED / EXPIRED_CARD (54).
//   - billTo.email starting "reject@": Decision Manager REJECT, 201 AUTHORIZED_RISK_DECLINED /
//     DECISION_PROFILE_REJECT; the authorization exists and the gateway reverses it itself.
//   - securityCode "999": 201 AUTHORIZED_PENDING_REVIEW / CV_FAILED, cardVerification.resultCode N.
//   - billTo.postalCode "99999": 201 AUTHORIZED_PENDING_REVIEW / AVS_FAILED, avs.code N.
//   - billTo.email starting "review@": Decision Manager REVIEW, 201 AUTHORIZED_PENDING_REVIEW /
//     DECISION_PROFILE_REVIEW, riskInformation.profile.decision REVIEW and score 75; a case is
//     opened for POST /risk/v1/decisions/{id}/actions, ResolveReview or POST /_sim/reviews/{id}.
//   - Otherwise 201 AUTHORIZED (Decision Manager ACCEPT, score 12).
//
// processingInformation.actionList with DECISION_SKIP bypasses Decision Manager. A payment in
// review or rejected is not captured even when capture=true.
//
// 4000000000000259 answers 502 {"status":"SERVER_ERROR","reason":"SERVER_TIMEOUT"} although the
// payment IS created (an approved authorization or sale), so a client must find it with a TSS
// search by clientReferenceInformation.code (a retry with the same code is a DUPLICATE_REQUEST).
// 4000000000000267 answers 502 SYSTEM_ERROR and creates nothing.
//
// # Request errors
//
// Missing fields answer one 400 {"submitTimeUtc","status":"INVALID_REQUEST","reason":
// "MISSING_FIELD","message","details":[{"field","reason"}]} naming every missing field:
// orderInformation.amountDetails.totalAmount and .currency; for a card (not a token)
// orderInformation.billTo firstName, lastName, address1, locality, country and email; the card's
// number, expirationMonth and expirationYear. An amount that is not a plain decimal string is
// INVALID_DATA; one that is not positive, has more decimals than the currency or is too large is
// INVALID_AMOUNT. A second payment with the same clientReferenceInformation.code within 15
// minutes of the simulator clock is 400 DUPLICATE_REQUEST. Unknown ids answer 404
// {"submitTimeUtc","status":"NOT_FOUND","reason":"NOT_FOUND","message"}.
//
// # Order data
//
// A payment's (or credit's) orderInformation.shipTo and orderInformation.lineItems (productCode,
// productName, productSku, quantity, unitPrice, taxAmount, totalAmount) are kept on the
// transaction and shown by Transaction Details under orderInformation.shipTo and
// orderInformation.lineItems (quantity a number, amounts strings with the currency's decimals,
// taxAmount "0.00" and quantity 1 when not sent, totalAmount only when sent). unitPrice is
// required on every line (MISSING_FIELD orderInformation.lineItems[n].unitPrice); a quantity that
// is not a whole number from 1, or an amount that is not a plain decimal or is negative, is
// INVALID_DATA; amounts with more decimals than the currency are truncated, as Cybersource does.
// Follow-ons do not repeat the order data. Transaction Details of a payment Decision Manager sent
// to review or rejected lists the rule that fired in riskInformation.rules[] ({name, decision}):
// RuleReviewEmail or RuleRejectEmail.
//
// # Follow-ons
//
// Captures (POST /pts/v2/payments/{id}/captures) add up to at most the authorized amount less
// reversals (else EXCEEDS_AUTH_AMOUNT); a declined authorization is MISSING_AUTH, a reversed one
// AUTH_ALREADY_REVERSED. Refunds of a payment or of a capture add up to at most what was captured
// and not voided (else INVALID_AMOUNT; CAPTURE_ALREADY_VOIDED for a voided capture). Voids apply
// to sales, captures, refunds and credits before they are batched (else NOT_VOIDABLE); an
// authorization is not voidable (send a reversal), nor a capture or sale with live refunds.
// Reversals apply to uncaptured authorizations, in part or whole (AUTH_ALREADY_REVERSED,
// TRANSACTION_ALREADY_SETTLED once captured). POST /pts/v2/credits is a stand-alone credit.
// POST /pts/v2/voids and POST /pts/v2/reversals find their target by the
// clientReferenceInformation.transactionId it was sent with (404 when nothing was). Captures,
// refunds and credits answer PENDING; a sale answers AUTHORIZED (the status enum of a payment
// answer has no PENDING) and its settlement status is PENDING. Every self link answers GET.
//
// # Settlement and reports
//
// The daily cut-off is 00:00 UTC of the simulator clock, run when the clock advances, on every
// request and on State. Pending sales, captures, refunds and credits submitted before it are
// batched, one batch per submit day (batch date = that day); they become BATCHED, can no longer
// be voided, and send payments.{capture,refund,credit}.status.updated. GET
// /reporting/v3/report-downloads?reportName=PaymentBatchDetailReport&reportDate=D serves the
// batches of D as the "Payment Batch Detail Report,1.0" CSV (Accept: text/csv; CRLF, quoted
// fields with commas or quotes, ics_bill positive, ics_credit negative, request_id = REST id,
// merchant_ref_number = clientReferenceInformation.code, trans_ref_no = reconciliationId) or as
// XML otherwise. A day's report exists once the day is cut off (empty when nothing settled); a
// day not yet cut off or before the simulator started is 404. GET
// /reporting/v3/payment-batch-summaries and /reporting/v3/net-fundings read the same batches;
// fees are Options.Fee per purchase (default 1.5% + 0.20) and appear as FEES. An organizationId
// other than the merchant id is 403.
//
// # Chargebacks and settlement quirks
//
// POST /_sim/chargebacks {"transactionId":"<sale or capture id>","amount":"12.50","reason":"..."}
// (or Server.Chargeback) records a chargeback against a settled (BATCHED) sale or capture on the
// simulator clock's current day and answers 201 with it ({"id","transactionId","rootId","kind",
// "merchantReference","batchId","paymentMethod","cardType","currency","amount","reason","date",
// "createdAt"}). amount is optional and defaults to all of the settled amount not yet charged
// back; the chargebacks of one transaction may add up to at most its settled amount. An unknown
// transaction, one that is not a sale or capture, one not yet settled (or voided), a bad amount
// or one above what is left answers 400 {"error"}. Net fundings of a window containing the
// chargeback's day show it as a CHARGEBACKS row (per currency and card brand: count and amount)
// and in totalChargebacks; netTotal is purchases − refunds − fees − chargebacks, every figure
// positive. Batch summaries and the batch detail report are unaffected. State lists chargebacks.
//
// POST /_sim/settlement-quirks {"omit":["<id>"],"amounts":{"<id>":"9.99"}} (or
// Server.SetSettlementQuirks) makes the NEXT settlement run misreport transactions in the Payment
// Batch Detail Report (CSV and XML): an omitted transaction has no row, a re-amounted one shows
// the given amount (negated for refunds and credits). The transactions are settled all the same
// and count at their true amounts in the batch summaries and net fundings, so the report no longer
// adds up to them; State's batch entries carry omittedFromReport and reportedAmount. Each id must
// be a capture, sale, refund or credit pending settlement, amounts positive with the currency's
// decimals, and no id both omitted and re-amounted, else 400 {"error"}. A POST replaces the quirks
// still pending ({} clears them) and answers them; GET /_sim/settlement-quirks shows them, as does
// State (settlementQuirks). The run consumes them.
//
// # Webhooks
//
// With Options.WebhookURL set, every event is POSTed there: payments.authorization.status.
// {accepted,reviewed,rejected}, payments.capture.status.{accepted,updated} (a sale sends
// authorization and capture accepted), payments.refund.status.{accepted,updated},
// payments.credit.status.{accepted,updated}, payments.void.status.accepted,
// payments.reversal.status.accepted and risk.casemanagement.decision.{accept,reject}. Headers and
// body follow §7; the body adds notificationId, the same on every attempt of one notification, so
// a receiver can de-duplicate, while v-c-transaction-trace-id is new on every attempt. The
// signature's t is the wall-clock time of sending (a receiver compares it with its own clock);
// eventDate and the recorded attempt times are simulator time. Deliveries go one at a time,
// oldest due first. A non-2xx answer or no answer within Options.WebhookTimeout fails the
// attempt; retry n is due Options.WebhookRetry.Due(n) after the first attempt by the simulator
// clock (default 1, 2 and 3 minutes), so advancing the clock fires due retries, and a short
// policy fires them in real time. State records every attempt. Close stops delivery.
//
// # Transient tokens
//
// A payment may carry tokenInformation.transientTokenJwt, a Flex Microform (v2) or Unified
// Checkout transient token, instead of paymentInformation. POST /_sim/transient-tokens stands in
// for the shopper's browser and Microform: {"number":"4111111111111111","expirationMonth":"12",
// "expirationYear":"2031","securityCode":"123","type":"001"} answers 201 {"transientToken":"<jwt>",
// "jti","expiresAt"} (IssueTransientToken does the same in Go). type is optional and must match
// the BIN; the number must be 12 to 19 digits of an accepted scheme (the Luhn check is left to
// the payment, as are the magic cards), the expiry MM and YYYY, the security code 3 digits (4 for
// Amex) when sent; anything else is 400 {"error"}. The JWT's header is {"kid":"sim-flex-1",
// "alg":"RS256"} and its payload Microform v2's: iss "Flex/08", type "mf-2.0.0", iat, exp = iat +
// 15 minutes of the simulator clock, a 64-character jti and content.paymentInformation.card with
// number.maskedValue (XXXXXXXXXXXX1111), number.bin, number.detectedCardTypes, expirationMonth
// .value, expirationYear.value and securityCode {} when one was captured. The signature is NOT
// an RS256 signature: it is an HMAC under a key generated when the simulator starts, which only
// the simulator can check (there is no capture context to verify against).
//
// A payment with the token resolves the card kept behind the jti (an expiry or securityCode sent
// in paymentInformation.card beside it wins over the token's) and is then exactly a card
// payment: billTo is required, every magic value above applies, TOKEN_CREATE tokenizes the card,
// and the transaction shows the card (type, BIN, last four, expiry) like one; Transaction Details
// adds tokenInformation.jti. The token serves one approved authorization (a decline leaves it
// usable) within its 15 minutes; a stand-alone credit may use it too without consuming it. Each
// refusal is 400 INVALID_REQUEST / INVALID_DATA with details [{"field":
// "tokenInformation.transientTokenJwt","reason":"INVALID_DATA"}]: a malformed JWT; a token this
// simulator did not issue or that was altered; one already used for an authorization (but a
// retry of that same payment, same clientReferenceInformation.code within 15 minutes, is
// DUPLICATE_REQUEST); an expired one (simulator clock at or past exp); a token sent with a card
// number, customer, payment instrument or instrument identifier.
//
// # Control routes and faults
//
// Beside the protocol the server answers GET /_sim/state, GET|POST /_sim/faults
// {"errorRate","timeoutRate","latencyMs"}, GET|POST /_sim/clock {"advance":"24h"}, POST
// /_sim/reviews/{id} {"decision","reviewer","comments"}, POST /_sim/transient-tokens (see
// Transient tokens), POST /_sim/chargebacks and GET|POST /_sim/settlement-quirks (see Chargebacks
// and settlement quirks); they are never authenticated, delayed or faulted. An injected error
// answers 502 SYSTEM_ERROR before anything is checked or done. An
// injected timeout holds the request until the client gives up (or Options.MaxHang passes, then
// 502 SERVER_TIMEOUT) and then DOES the work, as a gateway that processed the request after the
// caller stopped waiting.
//
// Card numbers live only in memory, behind TMS instrument identifiers and, until used or expired,
// transient tokens (with their security codes); State, /_sim/state and every answer show masked
// numbers (411111XXXXXX1111) or the first six and last four digits, never a security code. The
// simulator writes no logs.
//
// Not simulated: PATCH /pts/v2/payments/{id} (incremental authorization), stand-alone
// POST /risk/v1/decisions, the webhook subscription and key APIs (/notification-subscriptions,
// /kms), message-level encryption, P12 (RS256) JWTs, MetaKey portfolio signing, 3-D Secure,
// shipping-address tokens, other report names, and the chargeback reports and APIs
// (chargeback-summaries, chargeback-details): chargebacks show only in net fundings.
package cybersourcesim
