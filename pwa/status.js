// Tells whoever opens Tocsin whether mail intake is running, from the public /readyz.
(async () => {
  const line = document.getElementById('intake');
  try {
    const { mailbox, database } = await (await fetch('/readyz')).json();
    if (!database.ok) line.textContent = 'The database is not reachable.';
    else if (mailbox.state === 'off')
      line.textContent = 'Mail intake is off: no mailbox is configured (IMAP_HOST).';
    else {
      const synced = mailbox.lastSyncAt ? new Date(mailbox.lastSyncAt).toLocaleString() : 'not yet';
      line.textContent = `Mailbox ${mailbox.mailbox}: ${mailbox.state}, last synced ${synced}.`;
    }
  } catch {
    line.textContent = 'Tocsin is not answering.';
  }
})();
