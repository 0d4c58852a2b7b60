// What a socket error code says about the peer, for every code that dials peers (contacts, metadata).

export type SocketFailure = 'refused' | 'reset' | 'timeout' | 'unreachable' | 'error';

export function socketFailureOf(code: string | undefined): SocketFailure {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return 'reset';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
    case 'EACCES':
    case 'EPERM':
      return 'unreachable';
    default:
      return 'error';
  }
}
