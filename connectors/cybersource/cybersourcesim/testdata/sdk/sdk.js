// Drives the Cybersource simulator with the official Node SDK, cybersource-rest-client.
// Configuration comes from the environment (see ../../sdk_test.go); the result is one JSON
// object on stdout. MODE=flow: a sale, a refund of it, and Transaction Details of both.
// MODE=wrong-secret: a payment whose signature cannot verify.
'use strict';

const cs = require('cybersource-rest-client');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error('missing environment variable ' + name);
  return v;
};

const config = {
  authenticationType: env('CYBS_AUTH_TYPE'),
  merchantID: env('CYBS_MERCHANT_ID'),
  merchantKeyId: env('CYBS_KEY_ID'),
  merchantsecretKey: env('CYBS_SECRET'),
  runEnvironment: 'apitest.cybersource.com',
  intermediateHost: env('CYBS_SIM_URL'),
  logConfiguration: { enableLog: false },
};
if (config.authenticationType === 'jwt') {
  config.jwtKeyType = 'SHARED_SECRET';
}

// call turns an SDK callback method into a promise of {status, data, error}.
function call(fn) {
  return new Promise((resolve) => {
    fn((err, data, resp) => {
      if (err) {
        resolve({ status: err.status || 0, error: (err.response && err.response.text) || String(err.message || err) });
        return;
      }
      resolve({ status: resp ? resp.status : 0, data: JSON.parse(JSON.stringify(data)) });
    });
  });
}

function paymentRequest(code) {
  const req = new cs.CreatePaymentRequest();
  req.clientReferenceInformation = new cs.Ptsv2paymentsClientReferenceInformation();
  req.clientReferenceInformation.code = code;
  req.processingInformation = new cs.Ptsv2paymentsProcessingInformation();
  req.processingInformation.capture = true;
  req.processingInformation.commerceIndicator = 'internet';
  req.paymentInformation = new cs.Ptsv2paymentsPaymentInformation();
  req.paymentInformation.card = new cs.Ptsv2paymentsPaymentInformationCard();
  req.paymentInformation.card.number = '4111111111111111';
  req.paymentInformation.card.expirationMonth = '12';
  req.paymentInformation.card.expirationYear = '2031';
  req.paymentInformation.card.securityCode = '123';
  req.orderInformation = new cs.Ptsv2paymentsOrderInformation();
  req.orderInformation.amountDetails = new cs.Ptsv2paymentsOrderInformationAmountDetails();
  req.orderInformation.amountDetails.totalAmount = '102.21';
  req.orderInformation.amountDetails.currency = 'USD';
  const billTo = new cs.Ptsv2paymentsOrderInformationBillTo();
  billTo.firstName = 'John';
  billTo.lastName = 'Doe';
  billTo.address1 = '1 Market St';
  billTo.locality = 'san francisco';
  billTo.administrativeArea = 'CA';
  billTo.postalCode = '94105';
  billTo.country = 'US';
  billTo.email = 'test@cybs.com';
  req.orderInformation.billTo = billTo;
  return req;
}

function refundRequest(code, amount) {
  const req = new cs.RefundPaymentRequest();
  req.clientReferenceInformation = new cs.Ptsv2paymentsidrefundsClientReferenceInformation();
  req.clientReferenceInformation.code = code;
  req.orderInformation = new cs.Ptsv2paymentsidrefundsOrderInformation();
  req.orderInformation.amountDetails = new cs.Ptsv2paymentsidcapturesOrderInformationAmountDetails();
  req.orderInformation.amountDetails.totalAmount = amount;
  req.orderInformation.amountDetails.currency = 'USD';
  return req;
}

async function flow(code) {
  const apiClient = new cs.ApiClient();
  const payments = new cs.PaymentsApi(config, apiClient);
  const refunds = new cs.RefundApi(config, apiClient);
  const details = new cs.TransactionDetailsApi(config, apiClient);

  const out = {};
  out.payment = await call((cb) => payments.createPayment(paymentRequest(code), cb));
  if (!out.payment.data) return out;
  const paymentId = out.payment.data.id;
  out.refund = await call((cb) => refunds.refundPayment(refundRequest(code, '40.00'), paymentId, cb));
  out.paymentDetails = await call((cb) => details.getTransaction(paymentId, cb));
  if (out.refund.data) {
    out.refundDetails = await call((cb) => details.getTransaction(out.refund.data.id, cb));
  }
  return out;
}

async function wrongSecret(code) {
  const payments = new cs.PaymentsApi(config, new cs.ApiClient());
  return { payment: await call((cb) => payments.createPayment(paymentRequest(code), cb)) };
}

(async () => {
  const code = env('CYBS_CODE');
  const result = process.env.CYBS_MODE === 'wrong-secret' ? await wrongSecret(code) : await flow(code);
  process.stdout.write(JSON.stringify(result) + '\n');
})().catch((err) => {
  process.stdout.write(JSON.stringify({ fatal: String((err && err.stack) || err) }) + '\n');
  process.exitCode = 1;
});
