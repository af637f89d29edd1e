import { useCallback } from 'react';
import { EModelEndpoint } from 'librechat-data-provider';
import {
  useRevokeUserKeyMutation,
  useFetchUserModelsMutation,
} from 'librechat-data-provider/react-query';

type RevokeOptions = { onSuccess?: () => void; onError?: (error: unknown) => void };

/**
 * The user's models of a custom endpoint follow its key: once the key is saved or revoked they are
 * refetched at once (forced; errors ignored, the defaults stay). A rate-limited forced refetch is
 * followed by an ordinary one, since the key change dropped the cached list, unless the release's
 * own key mutation already refetches the models (`keyMutationRefetches`, v0.8.5 and later).
 */
export default function useKeyChangeModels(
  endpoint: string,
  endpointType: string | undefined,
  keyMutationRefetches = false,
) {
  const revokeKey = useRevokeUserKeyMutation(endpoint);
  const { mutate: fetchUserModels } = useFetchUserModelsMutation();

  const refreshModels = useCallback(() => {
    if (endpointType !== EModelEndpoint.custom) {
      return;
    }
    fetchUserModels(
      { endpoint, force: true },
      {
        onError: (error) => {
          const status = (error as { response?: { status?: number } })?.response?.status;
          if (status === 429 && !keyMutationRefetches) {
            fetchUserModels({ endpoint });
          }
        },
      },
    );
  }, [endpointType, endpoint, fetchUserModels, keyMutationRefetches]);

  const revokeUserKey = useCallback(
    (options?: RevokeOptions) => {
      revokeKey.mutateAsync({}).then(
        () => {
          refreshModels();
          options?.onSuccess?.();
        },
        (error: unknown) => options?.onError?.(error),
      );
    },
    [revokeKey, refreshModels],
  );

  return { refreshModels, revokeUserKey, isRevoking: revokeKey.isLoading };
}
