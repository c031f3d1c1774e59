'use client';
import { OperationsList } from '../../components/ops/operations-list.tsx';

export default function OperationsPage() {
  return <OperationsList />;
}
