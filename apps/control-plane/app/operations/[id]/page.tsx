import { OperationDetail } from '../../../components/ops/operation-detail.tsx';

type TProps = { params: Promise<{ id: string }> };

export default async function OperationPage({ params }: TProps) {
  const { id } = await params;
  return <OperationDetail id={id} />;
}
