// Package opayosim is an in-process, stateful Opayo (ex-Sage Pay) gateway for tests, the sandbox and
// the demo. It follows shared/protocols/opayo.md and answers in the shapes of Opayo's published
// OpenAPI and recorded responses: the Pi REST API v1, the Reporting & Admin API (XML "access") and
// the Server protocol (registration, payment page, signed notification POST), all over one
// transaction store, so a payment taken through one protocol is visible through the others.
//
// # Credentials and routes
//
// Zero Options accept the credentials of INTERFACES.md (DefaultIntegrationKey / Password,
// DefaultVendor, DefaultReportingUser / Password). Routes: Pi under PiBasePath, Reporting at
// ReportingPath, Server registration at ServerRegisterPath, the shopper's payment page at
// CardSelectionPath, the simulated ACS at ACSPath, and the control routes GET /_sim/state,
// GET|POST /_sim/faults, GET|POST /_sim/clock {"advance":"24h"} and GET|POST
// /_sim/settlement-quirks (see Settlement).
//
// # Pi (opayo.md §2)
//
// Every Pi route takes HTTP Basic (integration key and password) and answers 401 with code 1001 when
// the header is missing and 1002 when it is wrong; card identifier creation and security-code
// linking take "Authorization: Bearer <merchantSessionKey>" instead. Errors other than 422 are a
// single {"code","description"} object; 422 is {"errors":[{"code","property","description",
// "clientMessage"}]} listing every problem; an injected fault is 500 {"errors":[{"code":9999,…}]}.
//
//   - POST /merchant-session-keys {"vendorName"} → 201 {merchantSessionKey, expiry}. A key lives
//     MerchantSessionKeyLifetime (400 s), creates one card identifier, and is removed after
//     MerchantSessionKeyMaxFailures (3) failed card identifier attempts. Another vendor name → 401/1002.
//     GET /merchant-session-keys/{msk} → 200 while it lives, else 404/1006.
//   - POST /card-identifiers {"cardDetails":{cardholderName, cardNumber, expiryDate (or expiry) MMYY,
//     securityCode?}} → 201 {cardIdentifier, expiry, cardType}, valid CardIdentifierLifetime
//     (400 s) and for one transaction unless saved. Errors: 1003, 1005, 1007 (Luhn), 1008 (scheme),
//     1009 (expired). Bearer key missing → 401/1001; unknown, expired, removed or already used →
//     401/1002. POST /card-identifiers/{id}/security-code {"securityCode"} → 204 (the CVV serves the
//     next transaction). DELETE /card-identifiers/{id} (Basic) → 200 with an empty body, 404/1011.
//   - POST /transactions: Payment, Deferred, Authenticate, Authorise, Repeat, Refund, validated as in
//     §2.4 (amount an integer in minor units, else 1016; currency 1010; vendorTxCode ≤ 40 of
//     [A-Za-z0-9{}._-]; billing address, postal code except IE, state for US; SCA members when the
//     object is sent). NotAuthed and Rejected are HTTP 201 too. card.save on a successful
//     transaction makes the card identifier reusable; a reusable one is charged with
//     {cardIdentifier, reusable:true} (plus merchantSessionKey when a CVV was linked); save on a
//     reusable one → 1020. Repeat re-authorises the card of a successful Payment, Deferred, Repeat
//     or Authorise, for any amount. Refund: Σ refunds ≤ the captured amount (a Deferred's released
//     amount), else 403/1018 (its description also quotes legacy 4035). Authorise: against an
//     Authenticate awaiting authorisation, Σ ≤ 115% of it, else 403 with code 4044. A wrong reference
//     type answers 403/1013, a wrong state 403/1014, an unknown reference 404/1012.
//   - A reused vendorTxCode is answered per Options.DuplicateVendorTxCode; the default is 422 with
//     code 4042 on property vendorTxCode.
//   - GET /transactions/{id} → 200 with the transaction object, 404/1012. retrievalReference is a
//     JSON number (0 after a void); ids are upper-case GUIDs; Reporting's vpstxid is the same id in
//     braces.
//   - POST /transactions/{id}/instructions {"instructionType", "amount"?} → 201 {instructionType,
//     date}: void (Payment, Repeat, Authorise, Refund or a released Deferred, on the London day it
//     was captured, before settlement, without refunds; afterwards 403/1014; the transaction then
//     shows statusCode 2005 "The Void was Successful."), abort (an unreleased Deferred; 2006),
//     release (a Deferred, once, amount ≤ the deferred amount; a second release or a larger amount
//     → 403/1021; 2004), cancel (an Authenticate awaiting authorisation; 2012). Wrong type 403/1013,
//     wrong state 403/1014. GET …/instructions → 200 {"instructions":[…]}, or 404/1019 when none.
//   - 3DSv2: a Payment, Deferred or Authenticate with apply3DSecure Force (or ForceIgnoringRules)
//     needs strongCustomerAuthentication (else 422/1003). On a card whose 3-D Secure result is
//     Authenticated (4929000000006 and the other "Authenticated" sandbox cards) it answers 202
//     {statusCode 2021, status 3DAuth, transactionId, acsTransId, dsTransId, acsUrl (<base>/_sim/acs),
//     cReq (base64url EMV CReq)}. The ACS (POST /_sim/acs, form creq, threeDSSessionData, password)
//     answers an HTML page whose form posts hidden cres and threeDSSessionData to the notificationURL;
//     the simulator never posts it itself. Password "password" authenticates; "E:N:06", "A:D:06",
//     "U:N:06" give Error, AttemptOnly, Incomplete; anything else NotAuthenticated (without a
//     password field the ACS shows its challenge page). POST /transactions/{id}/3d-secure-challenge
//     {"cRes"} → 201 with the full transaction: Ok 0000 when authenticated (or AttemptOnly),
//     Rejected 4026 otherwise under Force (ForceIgnoringRules authorises anyway); a second call
//     → 403/1017. Other cards under Force take their table result without a challenge
//     (CardNotEnrolled, IssuerNotEnrolled proceed; Error is Rejected 4026 under Force).
//
// # Sandbox cards and checks (opayo.md §2.11)
//
// The published test cards are recognised with their card types (4929000000006 Visa, 4929000005559
// CardNotEnrolled, 4929000000014 IssuerNotEnrolled, 4929000000022 3-D Secure Error, 5404000000000001
// MasterCard, 4462000000000003 VisaDebit, 374200000000004 AmericanExpress, and the rest of
// test-card-details.md); 4929602110085639 and 5403814948608092 are declined: 201 NotAuthed,
// statusCode 2000, bankResponseCode 05. Any other Luhn-valid number of a known scheme is authorised.
// AVS/CV2 always runs unless applyAvsCvcCheck is Disable: the numerics of address1 must be 88, those
// of postalCode 412, the security code 123; each part is Matched, NotMatched or NotProvided and the
// status AllMatched, SecurityCodeMatchOnly, AddressMatchOnly or NoMatches. With applyAvsCvcCheck
// Force anything but AllMatched is Rejected 2001. Authorised transactions carry bankResponseCode 00,
// bankAuthorisationCode 999777 (as the sandbox does) and a sequential retrievalReference.
//
// # Reporting & Admin (opayo.md §3)
//
// POST ReportingPath with the form field XML=<vspaccess>…</vspaccess>. Answers are HTTP 200,
// ISO-8859-1 XML with <errorcode> first and <timestamp> (dd/mm/yyyy HH:MM:SS, Europe/London) last.
// Checks in order: not XML 0001, root not vspaccess 0002, vendor/user 0008, signature 0010 (MD5 per
// §3.1 over the parameters exactly as sent, in either hex case), unknown command 0013. Commands:
//   - getTransactionDetail by <vpstxid> (braces optional) or <vendortxcode> (0042 without either,
//     0043 when unknown): vpstxid, vendortxcode, transactiontype, txstateid, status, description,
//     amount (major units, "83.40"), currency, started, completed (dd/mm/yyyy HH:MM:SS.mmm),
//     securitykey, paymentsystem, expirydate, last4digits, cardholder, authprocessor,
//     merchantnumber, vpsauthcode, bankauthcode, batchid, billing*/delivery*, cv2result,
//     addressresult, postcoderesult, threedresult, declinecode, surcharge, refunded, repeated,
//     related*.
//   - getTransactionList: <startdate>/<enddate> (3001 missing, 3009 malformed, 0038 start after end,
//     0039 more than one month), optional <sortorder>DESC, <relatedtransactionid>, <searchphrase>,
//     and <startrow>/<endrow> (endrow − startrow ≤ 50 else 0099; default rows 1–50) →
//     <transactions><totalrows/><startrow/><endrow/><transaction>… with a result of SUCCESS,
//     NOTAUTHED, REJECTED, VOIDED, ABORTED, INPROGRESS or FAILED.
//   - getBatchList: batches whose completed time falls in the date range, each with
//     <transactiongroups> per currency (paymentnumber, paymentvalue, refundnumber, refundvalue).
//   - getBatchDetail: <batchid> and <authprocessor> (3001 when missing) and a row window.
//
// An injected error answers errorcode 0009.
//
// # Settlement (opayo.md §5)
//
// At each 00:00 Europe/London on the simulator clock, every captured, unsettled transaction taken
// before that midnight (payments, repeats, authorises, released deferreds, refunds; not voided,
// cancelled or still awaiting a notification reply) is batched per acquirer: AuthProcessorElavon,
// and a second batch AuthProcessorAmex for American Express cards. Batches get sequential ids from
// 1001 and completed = that midnight. Transactions gain the batchid and keep their txstateid (Opayo
// has no separate "settled" state); a settled transaction can no longer be voided (1014). Midnights
// are processed when the clock advances (Clock.Advance, POST /_sim/clock), on any request, in
// State(), and once a second while Serve runs. Unreleased deferreds expire after DeferredLifetime
// (30 days, txstateid 27).
//
// POST /_sim/settlement-quirks {"omit":["<transactionId>"],"amounts":{"<transactionId>":"9.99"}}
// (or Server.SetSettlementQuirks) makes the NEXT midnight run misreport transactions in
// getBatchDetail: an omitted transaction has no row (totalrows shrinks), a re-amounted one shows
// the given amount in major units. They are settled all the same (batchid, also in
// getTransactionDetail) and count at their true amounts in getBatchList's transactiongroups, so the
// detail no longer adds up to the list; State's batches carry omittedTransactionIds and
// reportedAmounts. Ids are Pi transactionIds or vpstxids (braces and case ignored); each must be
// captured and not yet settled, amounts positive with the currency's decimals, and no id both
// omitted and re-amounted, else 400 {"error"}. A POST replaces the quirks still pending ({} clears
// them) and answers them; GET /_sim/settlement-quirks and State (settlementQuirks) show them. The
// run consumes them.
//
// # Server protocol (opayo.md §4.1)
//
// POST ServerRegisterPath (form: VPSProtocol 4.00 or 3.00, TxType PAYMENT|DEFERRED|AUTHENTICATE,
// Vendor, VendorTxCode, Amount in major units, Currency, Description, NotificationURL, Billing* and
// Delivery* fields, optional CustomerEMail, AllowGiftAid, ApplyAVSCV2, Apply3DSecure) answers CRLF
// lines VPSProtocol, Status=OK, StatusDetail=0000 : The Transaction was Registered Successfully.,
// VPSTxId={GUID}, SecurityKey (10 characters) and
// NextURL=<base>/gateway/service/cardselection?vpstxid={GUID}. Failures answer Status=MALFORMED (missing fields) or INVALID with StatusDetail=NNNN : text
// using Opayo's legacy codes (e.g. 3076 for a missing NotificationURL, 4000 for another vendor).
// Re-registering a VendorTxCode whose shopper has not paid yet answers Status=OK REPEATED with
// StatusDetail 4042 and the same VPSTxId, SecurityKey and NextURL (4002/4003/4004 when the amount,
// currency or type differ); any other reuse answers INVALID 4042.
//
// The shopper pays by a form POST to NextURL (CardNumber, ExpiryDate MMYY, CV2, CardHolder; or
// action=cancel). Card errors re-show the page with the legacy 50xx line. The simulator authorises
// with the sandbox rules (no 3-D Secure on this path: 3DSecureStatus NOTCHECKED), parks the
// transaction in txstateid 7, and POSTs the notification (application/x-www-form-urlencoded: the
// §4.1 fields, with VPSSignature the upper-case hex MD5 of the §4.1 chain with the vendor name
// lower-cased; 4.00 adds ACSTransID, DSTransID and SchemeTraceID). The reply must start with Status=
// (OK, INVALID or ERROR; CRLF or LF; names such as RedirectURL matched case-insensitively). OK keeps
// the outcome; INVALID or ERROR cancel an authorised transaction (txstateid 9). A transport error, a
// non-2xx status or an unparseable reply is retried per Options.NotificationRetry on the simulator
// clock (default: NotificationRetryCountDefault = 3 retries, the first NotificationRetryFirstDefault =
// 1 min after the first attempt, then every NotificationRetryIntervalDefault = 1 min; each attempt
// bounded by Options.NotificationTimeout, default 10 s); when all fail an authorised transaction is
// cancelled (txstateid 13). The shopper gets a 302 to the RedirectURL of an accepted reply, or an
// HTML page "5006 : Unable to redirect to Vendor's web site…". Every attempt and reply is recorded in
// State(). The transaction is also visible to Reporting (with its securitykey) and to Pi GET
// /transactions/{id without braces}, and Pi instructions and refunds work on it.
//
// # Faults, latency and card data
//
// See Faults. Control routes, the payment page and the ACS are never faulted. The simulator keeps no
// card number: a card is reduced on entry to its issuer profile, type, last four digits and expiry;
// a security code lives only until the transaction that uses it. Nothing is logged.
package opayosim
