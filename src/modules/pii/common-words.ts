/**
 * Frequent words of English, German, French and Spanish that start sentences or are capitalised
 * nouns: a capitalised token from this list is never taken as a name on its own.
 */
export const COMMON_WORDS: readonly string[] = `
a an the and or but if then so as at by for from in into of on onto to with without about after before
i me my mine we us our you your he him his she her it its they them their this that these those here there
is am are was were be been being have has had do does did done can could will would shall should may might must
hi hello hey dear thanks thank please yes no not ok okay sure good great nice well also just only still
what when where who whom whose why how which while yet all any some each every both many much more most
new old first last next other same own one two three four five six seven eight nine ten
monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday tonight
january february march april may june july august september october november december
mr mrs ms miss dr prof sir madam mister herr frau fräulein monsieur madame mademoiselle señor señora señorita don doña
street road avenue lane drive way court place square park hill bridge station airport city town
apt suite unit box floor building north south east west central
regards best cheers sincerely kind warm love team support customer service help
ich du er sie es wir ihr mein meine dein deine sein seine unser euer der die das den dem des ein eine einen einem
und oder aber wenn dann weil dass ist sind war waren bin bist hat haben hatte kann können muss müssen soll sollen
hallo guten tag morgen abend danke bitte ja nein nicht auch noch nur schon sehr gut liebe lieber sehr geehrte geehrter
name adresse straße telefon nummer konto rechnung bestellung kunde kundin frage problem anfrage grüße gruß
je tu il elle nous vous ils elles mon ma mes ton ta tes son sa ses notre votre leur le la les un une des du de et ou
mais si donc car est sont était suis es avez avons ont peut bonjour bonsoir salut merci oui non pas aussi très bien
nom rue numéro compte facture commande client cliente question cordialement bonne journée
yo tú él ella nosotros vosotros ellos ellas mi mis tu tus su sus nuestro el los las una unos unas del y o pero
si entonces porque es son era soy eres hola buenos buenas días tardes noches gracias sí también muy bien
nombre calle número cuenta factura pedido cliente pregunta saludos atentamente
can will mark rose grace hope joy faith dawn summer autumn june april may august bill will art pat sue
iban bic swift visa mastercard amex paypal email mail phone mobile fax ssn passport id ip url api http https www
ai chatbot bot admin user guest account password login order invoice tracking ticket version price total
`
  .split(/\s+/)
  .filter((w) => w.length > 0);
