import type { MailCatalogue } from './en';

/** Spanish mail texts (neutral Spanish, informal "tú"). Same keys and placeholders as en.ts. */
export const es: MailCatalogue = {
  common: {
    greeting: 'Hola, {name}:',
    greetingNoName: 'Hola:',
    linkHint: 'Si el botón no funciona, copia este enlace en tu navegador:',
    signature: 'El equipo de Save Sora',
    footer: 'Recibes este mensaje porque una cuenta de Save Sora usa esta dirección.',
  },
  devices: {
    desktop: 'Computadora',
    mobile: 'Teléfono',
    tablet: 'Tableta',
    other: 'Otro dispositivo',
  },
  'verify-email': {
    subject: 'Verifica tu correo electrónico en Save Sora',
    preheader: 'Un clic y listo para crear.',
    heading: 'Verifica tu correo electrónico',
    intro: '¡Gracias por unirte a Save Sora! Confirma que esta dirección es tuya para que podamos proteger tu cuenta.',
    button: 'Verificar correo',
    outro: '¿No te registraste? Puedes ignorar este mensaje.',
  },
  'reset-password': {
    subject: 'Restablece tu contraseña de Save Sora',
    preheader: 'El enlace funciona durante {minutes} minutos.',
    heading: 'Restablece tu contraseña',
    intro: 'Recibimos una solicitud para restablecer la contraseña de tu cuenta de Save Sora. Elige una nueva con el botón de abajo.',
    expiry: 'El enlace funciona durante {minutes} minutos y una sola vez.',
    button: 'Elegir una contraseña nueva',
    outro: '¿No lo pediste tú? Ignora este mensaje y tu contraseña seguirá igual.',
  },
  'password-changed': {
    subject: 'Se cambió la contraseña de tu cuenta de Save Sora',
    preheader: 'Un aviso de seguridad sobre tu cuenta.',
    heading: 'Tu contraseña se cambió',
    intro: 'La contraseña de tu cuenta de Save Sora se cambió el {when}.',
    ok: 'Si fuiste tú, no tienes que hacer nada más.',
    notYou: 'Si no fuiste tú, restablece tu contraseña ahora mismo y escríbenos a {supportEmail}.',
  },
  'new-sign-in': {
    subject: 'Nuevo inicio de sesión en tu cuenta de Save Sora',
    preheader: 'Desde un dispositivo que no habíamos visto antes.',
    heading: 'Nuevo inicio de sesión en tu cuenta',
    intro: 'Alguien acaba de iniciar sesión en tu cuenta de Save Sora desde un dispositivo que no habíamos visto antes.',
    when: 'Cuándo',
    device: 'Dispositivo',
    browser: 'Navegador',
    region: 'Región',
    ip: 'Dirección IP',
    ok: 'Si fuiste tú, puedes ignorar este mensaje.',
    notYou: 'Si no fuiste tú, cambia tu contraseña ahora y cierra las demás sesiones desde la página de tu cuenta.',
  },
  'email-changed': {
    subject: 'Se cambió el correo electrónico de tu cuenta de Save Sora',
    preheader: 'Un aviso de seguridad sobre tu cuenta.',
    heading: 'Tu correo electrónico se cambió',
    intro: 'El {when}, el correo electrónico de tu cuenta de Save Sora cambió de {oldEmail} a {newEmail}.',
    info: 'A partir de ahora te enviamos los mensajes de la cuenta a {newEmail} e inicias sesión con esa dirección.',
    notYou: 'Si no fuiste tú, escríbenos de inmediato a {supportEmail} para que podamos proteger tu cuenta.',
  },
};
