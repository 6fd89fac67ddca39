/**
 * English mail texts: the reference catalogue. Plain text only (no HTML); `{placeholders}` are
 * filled by templates.ts, which escapes them for the HTML version. Every other locale must have
 * exactly these keys and placeholders (templates.test.ts checks).
 */
export const en = {
  common: {
    greeting: 'Hi {name},',
    greetingNoName: 'Hi,',
    linkHint: 'If the button doesn’t work, copy this link into your browser:',
    signature: 'The Save Sora team',
    footer: 'You receive this because an account on Save Sora uses this address.',
  },
  devices: {
    desktop: 'Computer',
    mobile: 'Phone',
    tablet: 'Tablet',
    other: 'Other device',
  },
  'verify-email': {
    subject: 'Verify your email for Save Sora',
    preheader: 'One click and you’re ready to create.',
    heading: 'Verify your email',
    intro: 'Thanks for joining Save Sora! Please confirm that this address is yours, so we can keep your account safe.',
    button: 'Verify email',
    outro: 'Didn’t sign up? You can ignore this email.',
  },
  'reset-password': {
    subject: 'Reset your Save Sora password',
    preheader: 'The link works for {minutes} minutes.',
    heading: 'Reset your password',
    intro: 'We got a request to reset the password of your Save Sora account. Choose a new one with the button below.',
    expiry: 'The link works for {minutes} minutes, and only once.',
    button: 'Choose a new password',
    outro: 'Didn’t ask for this? Ignore this email and your password stays the same.',
  },
  'password-changed': {
    subject: 'Your Save Sora password was changed',
    preheader: 'A security notice about your account.',
    heading: 'Your password was changed',
    intro: 'The password of your Save Sora account was changed on {when}.',
    ok: 'If this was you, there is nothing else to do.',
    notYou: 'If it wasn’t you, reset your password right away and contact us at {supportEmail}.',
  },
  'signup-existing': {
    subject: 'You already have a Save Sora account',
    preheader: 'Someone tried to sign up with this address.',
    heading: 'You already have an account',
    intro: 'Someone just tried to create a Save Sora account with this email address, which already has one. We did not create a second account.',
    signIn: 'If it was you, sign in with your existing account.',
    button: 'Sign in',
    forgot: 'Forgot your password? Choose a new one here: {resetUrl}',
    notYou: 'If it wasn’t you, you can ignore this email: nothing about your account changed.',
  },
  'new-sign-in': {
    subject: 'New sign-in to your Save Sora account',
    preheader: 'From a device we haven’t seen before.',
    heading: 'New sign-in to your account',
    intro: 'Someone just signed in to your Save Sora account from a device we haven’t seen before.',
    when: 'When',
    device: 'Device',
    browser: 'Browser',
    region: 'Region',
    ip: 'IP address',
    ok: 'If this was you, you can ignore this email.',
    notYou: 'If it wasn’t you, change your password now and sign out of your other sessions on your account page.',
  },
  'email-changed': {
    subject: 'The email address of your Save Sora account was changed',
    preheader: 'A security notice about your account.',
    heading: 'Your email address was changed',
    intro: 'On {when}, the email address of your Save Sora account was changed from {oldEmail} to {newEmail}.',
    info: 'From now on we send account emails to {newEmail}, and you sign in with that address.',
    notYou: 'If it wasn’t you, contact us right away at {supportEmail} so we can secure your account.',
  },
  'order-confirmation': {
    subject: 'Your Save Sora order is confirmed',
    preheader: '{credits} credits were added to your account.',
    heading: 'Thank you for your order',
    intro: 'Your payment went through and {credits} credits from the {planName} plan are in your account, ready to use.',
    receipt: 'Receipt number',
    when: 'Paid on',
    plan: 'Plan',
    amount: 'Amount',
    button: 'Download the receipt',
    outro: 'You can find all your orders and receipts on the Billing page of your account.',
  },
};

/** The shape every locale's catalogue has. */
export type MailCatalogue = typeof en;
