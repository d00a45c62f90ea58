import net from 'node:net';
import { smtpTransport } from '../../server/mail/transport';

/** A server that takes the connection and never says a word: the greeting never comes. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('when the SMTP server takes the connection and never greets', () => {
  it('then a send fails after the transport’s greeting timeout, not nodemailer’s default of 30 s', async () => {
    const server = await silentServer();
    const transport = smtpTransport(server.url, {
      timeouts: { connectionMs: 2_000, greetingMs: 300, socketMs: 2_000 },
    });
    try {
      await expect(
        transport.send({
          from: 'desk@example.test',
          to: [{ name: '', address: 'a@example.test' }],
          subject: 's',
          text: 't',
        }),
      ).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      transport.close();
      await server.close();
    }
  }, 10_000);
});
