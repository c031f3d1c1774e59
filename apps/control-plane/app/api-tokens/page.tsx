'use client';
import { ApiTokens } from '../../components/ops/api-tokens.tsx';

export default function ApiTokensPage() {
  return <ApiTokens />;
}
